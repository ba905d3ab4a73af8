// Vigil's web map: boots the page — access, the stored snapshots, the map and its layers —
// and wires the controls. The other modules: api (requests), state (the URL), layers
// (sources, colours, legend), time (the date control), panels (the side panel).

import * as api from './api.js';
import * as state from './state.js';
import * as layers from './layers.js';
import * as panels from './panels.js';
import { control } from './time.js';
import * as whatif from './scenario.js';
import * as alerts from './alerts.js';
import * as handover from './export.js';

const hook = { ready: false, date: null, switches: [], marks: { start: performance.now() } };
const mark = (name) => { hook.marks[name] = performance.now(); };
// MapLibre (1.1 MB) is parsed while the first requests are on their way.
const maplibreLoading = import('../vendor/maplibre-gl.mjs');
let maplibregl = null;
window.vigil = hook; // read by the browser tests and handy in the console

/** Asks for a token until the server accepts one; returns the settings it answers. */
async function signIn(first) {
  const dialog = document.getElementById('token-dialog');
  const input = document.getElementById('token');
  const error = document.getElementById('token-error');
  let settings = first;
  while (settings.tokens_required && !settings.authenticated) {
    document.body.dataset.state = 'token';
    dialog.showModal();
    input.focus();
    await new Promise((resolve) => document.getElementById('token-form').addEventListener('submit', resolve, { once: true }));
    api.setToken(input.value.trim());
    input.value = '';
    try {
      settings = await api.json('map/settings.json');
      error.hidden = true;
    } catch (e) {
      api.setToken(null);
      error.textContent = e.status === 401 ? 'This token is not valid on this server.' : e.message;
      error.hidden = false;
    }
  }
  if (dialog.open) dialog.close();
  return settings;
}

async function loadSettings() {
  try {
    return await api.json('map/settings.json');
  } catch (e) {
    if (e.status === 401) { // a stored token that is no longer valid
      api.setToken(null);
      return api.json('map/settings.json');
    }
    throw e;
  }
}

function describeAccess(settings) {
  const who = document.getElementById('who');
  const note = document.getElementById('hidden-note');
  if (settings.tokens_required) {
    who.innerHTML = `Token scopes: ${settings.scopes.join(', ') || 'none'} <button type="button" id="sign-out">Sign out</button>`;
    document.getElementById('sign-out').addEventListener('click', () => { api.setToken(null); location.reload(); });
  } else {
    who.textContent = 'Open server (no tokens configured)';
  }
  if (!settings.sees_deployments) {
    note.hidden = false;
    note.textContent = 'Your token does not hold deployments:read: bases, their reach, coverage gaps and every coverage figure are hidden.';
  }
}

function layerList(map, view, sees) {
  const ul = document.getElementById('layer-list');
  const on = new Set(view.layers || state.DEFAULT_LAYERS);
  ul.innerHTML = layers.TOGGLES.filter(([, , deployments]) => sees || !deployments)
    .map(([id, label]) => `<li><label><input type="checkbox" data-layer="${id}" ${on.has(id) ? 'checked' : ''}> ${label}</label></li>`)
    .join('');
  const apply = () => {
    const active = [];
    for (const box of ul.querySelectorAll('input')) {
      layers.setVisible(map, box.dataset.layer, box.checked);
      if (box.checked) active.push(box.dataset.layer);
    }
    view.layers = active;
    labels.forEach((m) => { m.getElement().hidden = !active.includes('areas'); });
    state.write(view);
  };
  ul.addEventListener('change', apply);
  apply();
}

let labels = [];
const areaCentres = new Map();
const areaIds = new Map(); // name → area_id (the first area of that name)
let pickArea = () => {};
/** Area names as HTML labels (the page loads no font glyphs, so no map text); a click on
 * one opens the area's summary. */
function areaLabels(map, fc) {
  labels.forEach((m) => m.remove());
  for (const f of fc.features) if (!areaIds.has(f.properties.name)) areaIds.set(f.properties.name, f.properties.area_id);
  const levels = new Map();
  for (const f of fc.features) levels.set(f.properties.level, (levels.get(f.properties.level) || 0) + 1);
  const coarsest = [...levels.entries()].sort((a, b) => a[1] - b[1])[0]?.[0];
  labels = fc.features.filter((f) => f.properties.level === coarsest && f.geometry).map((f) => {
    const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates.flat(1).sort((a, b) => b.length - a.length)[0];
    const [x, y] = ring.reduce(([sx, sy], [px, py]) => [sx + px / ring.length, sy + py / ring.length], [0, 0]);
    areaCentres.set(f.properties.name, [x, y]);
    const el = document.createElement('button');
    el.type = 'button';
    el.className = 'area-label';
    el.textContent = f.properties.name;
    el.title = `Summary of ${f.properties.name}`;
    el.addEventListener('click', (e) => { e.stopPropagation(); pickArea(f.properties.area_id); });
    return new maplibregl.Marker({ element: el }).setLngLat([x, y]).addTo(map);
  });
}

function wireHandover(map, date, sees, attribution) {
  const layer = document.getElementById('dl-layer');
  layer.innerHTML = [['risk', 'Risk cells'], ['coverage-gaps', 'Coverage gaps', true], ['bases', 'Bases', true], ['events', 'Events'], ['areas', 'Areas']]
    .filter(([, , deployments]) => sees || !deployments)
    .map(([id, label]) => `<option value="${id}">${label}</option>`).join('');
  const run = (f) => async () => {
    try {
      await f();
    } catch (e) {
      panels.message(`The download failed: ${e.message}`);
    }
  };
  document.getElementById('dl-geojson').addEventListener('click', run(() => handover.download(map, layer.value, date(), 'geojson')));
  document.getElementById('dl-csv').addEventListener('click', run(() => handover.download(map, layer.value, date(), 'csv')));
  document.getElementById('dl-png').addEventListener('click', run(() => handover.png(map, { date: date(), sees, attribution })));
  document.getElementById('print').addEventListener('click', () => window.print());
}

async function main() {
  api.onBusy((busy) => { document.getElementById('busy').hidden = !busy; });
  // Asked at once, beside the settings; asked again after signing in if it was refused.
  const early = api.json('snapshots').catch(() => null);
  let settings;
  try {
    settings = await signIn(await loadSettings());
  } catch (e) {
    panels.message(`The server did not answer: ${e.message}`, { sticky: true });
    document.body.dataset.state = 'error';
    return;
  }
  mark('settings');
  const sees = settings.sees_deployments;
  describeAccess(settings);
  const areasRequest = api.json('collections/areas/items?limit=10000').catch((e) => {
    panels.message(`The areas could not be read: ${e.message}`);
    return { type: 'FeatureCollection', features: [] };
  });
  const list = (await early) || await api.json('snapshots');
  if (!list.snapshots.length) {
    panels.message('The store has no snapshot yet: run `vigil score`, then reload.', { sticky: true });
    document.body.dataset.state = 'empty';
    return;
  }
  mark('snapshots');
  const view = state.read();
  let snap = list.snapshots.find((s) => s.date === view.date) || list.snapshots.find((s) => s.date === list.served) || list.snapshots.at(-1);
  view.date = snap.date;
  const b = list.bbox;

  maplibregl = await maplibreLoading;
  const map = new maplibregl.Map({
    fadeDuration: 0,
    container: 'map',
    style: settings.basemap || layers.style(null),
    bounds: view.center ? undefined : [[b[0], b[1]], [b[2], b[3]]],
    fitBoundsOptions: { padding: 40 },
    center: view.center,
    zoom: view.zoom,
    attributionControl: false,
    transformRequest: (u) => (api.sameOrigin(u) ? { url: u, headers: api.headers() } : { url: u }),
  });
  hook.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: true, visualizePitch: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: list.attribution.join('; ') }), 'bottom-right');
  map.on('error', (e) => {
    const status = e.error?.status;
    panels.message(status === 401 || status === 403 ? 'The server refused a layer: sign in again.' : `A map request failed: ${e.error?.message || e.type}`);
  });
  await new Promise((resolve) => map.on('load', resolve));
  mark('load');
  layers.add(map, snap, sees, settings.tiles_maxzoom);
  layers.legend(document.getElementById('legend'), sees);
  if (innerWidth < 1000) document.querySelector('details.legend').open = false; // a tablet upright: the map first
  layerList(map, view, sees);
  areasRequest.then((areas) => {
    map.getSource('areas').setData(areas);
    areaLabels(map, areas);
    labels.forEach((m) => { m.getElement().hidden = !view.layers.includes('areas'); });
  });

  pickArea = (id) => select({ kind: 'area', id });
  const planner = sees ? whatif.init(map, { date: () => snap.date }) : null;
  const changes = alerts.init(map, { snapshots: list.snapshots, date: () => snap.date, sees, areaCentres: () => areaCentres });
  areasRequest.then(() => changes.refresh());
  wireHandover(map, () => snap.date, sees, list.attribution.join('; '));
  hook.scenario = () => planner?.scenario();

  let selected = null; // { kind: 'cell' | 'area', id }
  const select = async (sel) => {
    selected = sel;
    view.cell = sel?.kind === 'cell' ? sel.id : undefined;
    view.area = sel?.kind === 'area' ? sel.id : undefined;
    state.write(view);
    layers.highlight(map, view.cell);
    if (!sel) return panels.close();
    try {
      if (sel.kind === 'cell') {
        const x = await api.json(`cells/${sel.id}/explain?top=10&date=${snap.date}`);
        if (selected === sel) panels.cell(x, () => select(null), (name) => areaIds.has(name) && select({ kind: 'area', id: areaIds.get(name) }));
      } else {
        const f = await api.json(`collections/areas/items/${encodeURIComponent(sel.id)}?datetime=${snap.date}`);
        if (selected === sel) panels.area(f, () => select(null));
      }
    } catch (e) {
      panels.message(e.status === 404 ? `Not on ${snap.date}: ${e.message}` : e.message);
    }
  };

  const loadDay = async () => {
    const date = snap.date;
    const fail = (e) => { panels.message(e.message); return null; };
    // Events are selected by their own dates: the 30 days up to the day shown.
    const from = new Date(Date.parse(`${date}T00:00:00Z`) - 29 * 86400000).toISOString().slice(0, 10);
    const [events, bases, idp] = await Promise.all([
      api.json(`collections/events/items?datetime=${from}/${date}&limit=10000`).catch(fail),
      sees ? api.json(`collections/bases/items?datetime=${date}&limit=10000`).catch(fail) : null,
      api.json(`collections/idp-sites/items?datetime=${date}&limit=10000`).catch(fail),
    ]);
    if (date !== snap.date) return; // a later date was asked for meanwhile
    if (events) layers.setEvents(map, events, date);
    if (bases) layers.setBases(map, bases);
    if (idp) {
      const box = document.querySelector('#layer-list input[data-layer="idp"]');
      const none = layers.setIdp(map, idp) === 0;
      box.disabled = none;
      box.parentElement.title = none ? 'No IDP site list is loaded for this date' : '';
      box.parentElement.classList.toggle('none', none);
    }
  };

  const whenTilesLoaded = () => new Promise((resolve) => {
    const check = () => (map.isSourceLoaded('risk') && map.areTilesLoaded() ? resolve() : map.once('idle', check));
    map.once('idle', check);
  });

  const onDate = async (next) => {
    const started = performance.now();
    snap = next;
    view.date = next.date;
    state.write(view);
    layers.setSnapshot(map, next);
    loadDay();
    if (selected) select(selected);
    planner?.refresh();
    changes.refresh();
    await whenTilesLoaded();
    if (snap !== next) return;
    hook.date = next.date;
    hook.switches.push({ date: next.date, ms: performance.now() - started });
    document.body.dataset.date = next.date;
  };
  // Ask the server to read the neighbouring dates now, so that stepping to them is quick.
  const warm = (date) => {
    const i = list.snapshots.findIndex((s) => s.date === date);
    for (const n of [list.snapshots[i - 1], list.snapshots[i + 1]]) {
      if (n) fetch(api.url(`tiles/risk/tilejson.json?date=${n.date}`), { headers: api.headers() }).catch(() => {});
    }
  };
  control(list.snapshots, snap.date, (next) => { onDate(next).then(() => warm(next.date)); });

  map.on('click', (e) => {
    if (planner?.active()) return planner.click(e);
    const hit = (ids) => map.queryRenderedFeatures(e.point, { layers: ids.filter((id) => map.getLayer(id)) })[0];
    const base = hit(['bases-circle']);
    if (base) return;
    const cell = hit(['risk-fill']);
    if (cell) {
      const p = cell.properties;
      if (p.cells > 1) {
        selected = null;
        return panels.unit(p, () => map.easeTo({ center: e.lngLat, zoom: Math.max(map.getZoom() + 2, 9.5) }));
      }
      return select({ kind: 'cell', id: p.h3 });
    }
    const area = hit(['areas-fill']);
    if (area) return select({ kind: 'area', id: area.properties.area_id });
    return select(null);
  });
  const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });
  map.on('mouseenter', 'bases-circle', (e) => {
    const p = e.features[0].properties;
    map.getCanvas().style.cursor = 'pointer';
    popup.setLngLat(e.features[0].geometry.coordinates)
      .setHTML(`<strong>${p.location}</strong> (${p.mission})<br>${p.troops ? `${p.troops} troops` : 'troops unknown'}, reach ${p.reach_km} km${p.rainy_season_reduced ? ' (rainy season)' : ''}`)
      .addTo(map);
  });
  map.on('mouseleave', 'bases-circle', () => { map.getCanvas().style.cursor = ''; popup.remove(); });
  map.on('mouseenter', 'risk-fill', () => { if (!planner?.active()) map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', 'risk-fill', () => { if (!planner?.active()) map.getCanvas().style.cursor = ''; });
  map.on('moveend', () => {
    const c = map.getCenter();
    view.center = [c.lng, c.lat];
    view.zoom = map.getZoom();
    state.write(view);
  });

  await loadDay();
  mark('day');
  await whenTilesLoaded();
  hook.date = snap.date;
  hook.firstRenderMs = performance.now();
  hook.ready = true;
  document.body.dataset.date = snap.date;
  document.body.dataset.state = 'ready';
  warm(snap.date);
  if (view.cell) select({ kind: 'cell', id: view.cell });
  else if (view.area) select({ kind: 'area', id: view.area });
}

main().catch((e) => {
  panels.message(`The map could not start: ${e.message}`, { sticky: true });
  document.body.dataset.state = 'error';
});
