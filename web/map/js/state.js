// The view in the URL's fragment — date, zoom, centre, layers, selected cell — so that a
// link sent to a colleague opens the same map. The fragment never reaches the server.

const LAYER_IDS = ['risk', 'gaps', 'bases', 'reach', 'events', 'idp', 'areas'];
export const DEFAULT_LAYERS = ['risk', 'gaps', 'bases', 'reach', 'events', 'idp', 'areas'];

/** The view the URL asks for (missing parts undefined). */
export function read() {
  const p = new URLSearchParams(location.hash.replace(/^#/, ''));
  const view = {};
  const date = p.get('date');
  if (date && /^\d{4}-\d{2}-\d{2}$/.test(date)) view.date = date;
  const z = Number(p.get('z'));
  if (p.has('z') && Number.isFinite(z)) view.zoom = Math.min(Math.max(z, 0), 16);
  const c = (p.get('c') || '').split(',').map(Number);
  if (c.length === 2 && c.every(Number.isFinite) && Math.abs(c[1]) <= 90) view.center = c;
  if (p.has('l')) view.layers = p.get('l').split(',').filter((l) => LAYER_IDS.includes(l));
  const cell = p.get('cell');
  if (cell && /^[0-9a-f]{15}$/.test(cell)) view.cell = cell;
  const area = p.get('area');
  if (area) view.area = area;
  return view;
}

/** Writes `view` into the URL without a new history entry. */
export function write(view) {
  const p = new URLSearchParams();
  if (view.date) p.set('date', view.date);
  if (view.zoom !== undefined) p.set('z', view.zoom.toFixed(2));
  if (view.center) p.set('c', `${view.center[0].toFixed(5)},${view.center[1].toFixed(5)}`);
  if (view.layers) p.set('l', view.layers.join(','));
  if (view.cell) p.set('cell', view.cell);
  if (view.area) p.set('area', view.area);
  const hash = `#${p.toString().replace(/%2C/g, ',')}`;
  if (hash !== location.hash) history.replaceState(null, '', hash);
}
