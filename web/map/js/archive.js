// The tile archive viewer (`/map/archive.html`): opens a PMTiles archive from a file on this
// computer (`vigil export tiles`, or the one in a field kit) and draws its risk tiers, gaps
// and bases as the live map does — no request leaves the page but for its own files, so it
// works from any static copy of the page on a machine with no network.

import * as layers from './layers.js';

const hook = { ready: false };
window.vigil = hook; // read by the browser tests

// Listening before MapLibre has loaded: a file chosen at once is opened when it has.
document.getElementById('archive-file').addEventListener('change', (e) => {
  const file = e.target.files[0];
  if (!file) return;
  document.body.dataset.state = 'loading';
  opener.then((open) => open(file)).catch((err) => {
    document.getElementById('archive-info').textContent = `This file could not be read as a tile archive: ${err.message}`;
    document.body.dataset.state = 'error';
  });
});
let ready = null;
const opener = new Promise((resolve) => { ready = resolve; });

const maplibregl = await import('../vendor/maplibre-gl.mjs');
const protocol = new pmtiles.Protocol();
maplibregl.addProtocol('pmtiles', protocol.tile);

const map = new maplibregl.Map({
  container: 'map',
  style: layers.style(null),
  center: [0, 0],
  zoom: 1,
  fadeDuration: 0,
  attributionControl: false,
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
const attribution = new maplibregl.AttributionControl({ compact: true });
map.addControl(attribution, 'bottom-right');
const loaded = new Promise((resolve) => map.on('load', resolve));

const tierColour = ['match', ['get', 'tier'], ...layers.TIERS.flatMap(([t, c]) => [t, c]), '#cccccc'];

function legend(ids) {
  const row = (swatch, label) => `<div class="row">${swatch}<span>${label}</span></div>`;
  let html = '<div class="legend-group"><strong>Risk tier</strong>';
  for (const [, colour, label] of layers.TIERS.slice().reverse()) html += row(`<span class="swatch" style="background:${colour}"></span>`, label);
  html += '</div>';
  if (ids.includes('coverage-gaps')) html += row('<span class="swatch gap"></span>', 'Coverage gap: high risk, no base in reach');
  if (ids.includes('bases')) html += row('<span class="swatch dot base"></span>', 'Base');
  document.getElementById('legend').innerHTML = html;
}

async function open(file) {
  await loaded;
  const archive = new pmtiles.PMTiles(new pmtiles.FileSource(file));
  const [header, meta] = await Promise.all([archive.getHeader(), archive.getMetadata()]);
  protocol.add(archive);
  for (const id of ['bases-circle', 'gaps-line', 'gaps-hatch', 'risk-fill']) if (map.getLayer(id)) map.removeLayer(id);
  if (map.getSource('archive')) map.removeSource('archive');
  if (!map.hasImage('hatch')) map.addImage('hatch', layers.hatch(), { pixelRatio: 1 });
  const ids = (meta.vector_layers || []).map((l) => l.id);
  map.addSource('archive', {
    type: 'vector',
    url: `pmtiles://${file.name}`,
    attribution: meta.attribution || '',
  });
  map.addLayer({
    id: 'risk-fill', type: 'fill', source: 'archive', 'source-layer': 'risk',
    paint: { 'fill-color': tierColour, 'fill-opacity': ['match', ['get', 'tier'], 'low', 0.35, 0.8], 'fill-outline-color': 'rgba(110, 110, 110, 0.45)' },
  });
  if (ids.includes('coverage-gaps')) {
    map.addLayer({ id: 'gaps-hatch', type: 'fill', source: 'archive', 'source-layer': 'coverage-gaps', paint: { 'fill-pattern': 'hatch' } });
    map.addLayer({ id: 'gaps-line', type: 'line', source: 'archive', 'source-layer': 'coverage-gaps', paint: { 'line-color': '#000000', 'line-width': 2 } });
  }
  if (ids.includes('bases')) {
    map.addLayer({
      id: 'bases-circle', type: 'circle', source: 'archive', 'source-layer': 'bases',
      paint: { 'circle-radius': 6.5, 'circle-color': '#000000', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2.5 },
    });
  }
  legend(ids);
  document.getElementById('archive-info').textContent = `${file.name}: ${meta.date ? `the snapshot of ${meta.date}, ` : ''}zoom ${header.minZoom}–${header.maxZoom} (sources in the map's corner)`;
  map.fitBounds([[header.minLon, header.minLat], [header.maxLon, header.maxLat]], { padding: 30, animate: false });
  await new Promise((resolve) => {
    const check = () => (map.isSourceLoaded('archive') && map.areTilesLoaded() ? resolve() : map.once('idle', check));
    map.once('idle', check);
  });
  hook.date = meta.date;
  hook.layers = ids;
  hook.ready = true;
  document.body.dataset.state = 'ready';
}

hook.map = map;
ready(open);
