// The map's sources and layers, their colours and the legend. Tier colours are ColorBrewer's
// YlOrBr: safe for colour-blind readers and ordered in lightness, so they stay legible
// printed in grey; gaps are hatched and outlined in black over the risk colour.

import { url } from './api.js';

export const TIERS = [
  ['low', '#ffffd4', 'Low'],
  ['moderate', '#fed98e', 'Moderate'],
  ['elevated', '#fe9929', 'Elevated'],
  ['high', '#d95f0e', 'High'],
  ['critical', '#993404', 'Critical'],
];

// Okabe–Ito colours for event categories.
export const CATEGORIES = [
  ['civilian_harm', '#D55E00', 'Violence against civilians'],
  ['armed_clash', '#0072B2', 'Armed clash'],
  ['remote_violence', '#CC79A7', 'Remote violence'],
  ['unrest', '#009E73', 'Unrest'],
  ['other', '#999999', 'Other'],
];

/** The toggles of the layer list: id, label, whether it shows deployments. */
export const TOGGLES = [
  ['risk', 'Risk by tier', false],
  ['gaps', 'Coverage gaps', true],
  ['bases', 'Bases', true],
  ['reach', 'Base reach', true],
  ['events', 'Events, last 30 days', false],
  ['idp', 'Sites of displaced people', false],
  ['areas', 'Areas and names', false],
];

/** The MapLibre layers of each toggle. */
export const LAYERS_OF = {
  risk: ['risk-fill', 'risk-selected'],
  gaps: ['gaps-hatch', 'gaps-line'],
  bases: ['bases-circle'],
  reach: ['reach-fill', 'reach-line'],
  events: ['events-circle'],
  idp: ['idp-circle'],
  areas: ['areas-line'],
};

/** Tile URL template of a layer on a date (the version makes it cacheable for good). */
export function tileUrl(layer, snapshot) {
  const q = snapshot ? `?date=${snapshot.date}&v=${snapshot.version}` : '';
  return `${url(`tiles/${layer}`)}/{z}/{x}/{y}.mvt${q}`;
}

const empty = { type: 'FeatureCollection', features: [] };

/** A diagonal hatch as an image (made here: the page loads no sprite). */
export function hatch() {
  const n = 8;
  const data = new Uint8Array(n * n * 4);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if ((x + y) % n < 2) data.set([0, 0, 0, 200], (y * n + x) * 4);
    }
  }
  return { width: n, height: n, data };
}

/** The style: no glyphs, no sprite, no host but this server (and a configured basemap). */
export function style(basemap) {
  return {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': basemap ? 'rgba(0,0,0,0)' : '#f4f4f1' } }],
  };
}

const tierColour = ['match', ['get', 'tier'], ...TIERS.flatMap(([t, c]) => [t, c]), '#cccccc'];

/** Adds every source and layer; `sees` = the caller may see deployments; tiles stop at
 * `maxzoom` (the zoom of the grid's own cells) and are overzoomed beyond. */
export function add(map, snapshot, sees, maxzoom = 16) {
  map.addImage('hatch', hatch(), { pixelRatio: 1 });
  map.addSource('areas', { type: 'geojson', data: empty });
  map.addLayer({ id: 'areas-fill', type: 'fill', source: 'areas', paint: { 'fill-color': '#ffffff', 'fill-opacity': 0.01 } });
  map.addSource('risk', { type: 'vector', tiles: [tileUrl('risk', snapshot)], minzoom: 0, maxzoom });
  map.addLayer({
    id: 'risk-fill', type: 'fill', source: 'risk', 'source-layer': 'risk',
    paint: {
      'fill-color': tierColour,
      'fill-opacity': ['match', ['get', 'tier'], 'low', 0.35, 0.8],
      // Cell edges as the fill's own 1-pixel outline: far cheaper to draw than a line layer.
      'fill-outline-color': 'rgba(110, 110, 110, 0.45)',
    },
  });
  map.addLayer({
    id: 'areas-line', type: 'line', source: 'areas',
    paint: { 'line-color': '#3d3d3d', 'line-width': ['match', ['get', 'level'], 'ADM1', 2, 'ADM2', 1.3, 0.8], 'line-dasharray': [3, 1.5] },
  });
  if (sees) {
    map.addSource('coverage-gaps', { type: 'vector', tiles: [tileUrl('coverage-gaps', snapshot)], minzoom: 0, maxzoom });
    map.addLayer({ id: 'gaps-hatch', type: 'fill', source: 'coverage-gaps', 'source-layer': 'coverage-gaps', paint: { 'fill-pattern': 'hatch' } });
    map.addLayer({ id: 'gaps-line', type: 'line', source: 'coverage-gaps', 'source-layer': 'coverage-gaps', paint: { 'line-color': '#000000', 'line-width': 2 } });
    map.addSource('reach', { type: 'geojson', data: empty });
    map.addLayer({ id: 'reach-fill', type: 'fill', source: 'reach', paint: { 'fill-color': '#1f4e79', 'fill-opacity': 0.06 } });
    map.addLayer({ id: 'reach-line', type: 'line', source: 'reach', paint: { 'line-color': '#1f4e79', 'line-width': 1.5, 'line-dasharray': [2, 2] } });
    map.addSource('bases', { type: 'geojson', data: empty });
    map.addLayer({
      id: 'bases-circle', type: 'circle', source: 'bases',
      paint: { 'circle-radius': 6.5, 'circle-color': ['case', ['boolean', ['get', 'closed'], false], '#bdbdbd', '#000000'], 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2.5 },
    });
  }
  map.addSource('idp', { type: 'geojson', data: empty });
  map.addLayer({
    id: 'idp-circle', type: 'circle', source: 'idp',
    paint: {
      'circle-radius': ['interpolate', ['linear'], ['sqrt', ['coalesce', ['get', 'population'], 0]], 0, 4, 100, 12],
      'circle-color': '#ffffff', 'circle-stroke-color': '#1b7837', 'circle-stroke-width': 3,
    },
  });
  map.addSource('events', { type: 'geojson', data: empty });
  map.addLayer({
    id: 'events-circle', type: 'circle', source: 'events',
    paint: {
      'circle-radius': ['interpolate', ['linear'], ['coalesce', ['get', 'fatalities'], 0], 0, 3.5, 20, 9],
      'circle-color': ['match', ['get', 'category'], ...CATEGORIES.flatMap(([c, col]) => [c, col]), '#999999'],
      'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1,
    },
  });
  map.addLayer({
    id: 'risk-selected', type: 'line', source: 'risk', 'source-layer': 'risk', filter: ['==', ['get', 'h3'], ''],
    paint: { 'line-color': '#00b4e6', 'line-width': 5 },
  });
}

/** Points the tiled sources at the snapshot of another date. */
export function setSnapshot(map, snapshot) {
  for (const id of ['risk', 'coverage-gaps']) {
    const src = map.getSource(id);
    if (src) src.setTiles([tileUrl(id, snapshot)]);
  }
}

/** Outlines the selected cell (none: `null`). */
export function highlight(map, h3) {
  if (map.getLayer('risk-selected')) map.setFilter('risk-selected', ['==', ['get', 'h3'], h3 || '']);
}

/** Shows or hides the MapLibre layers of a toggle. */
export function setVisible(map, toggle, on) {
  for (const id of LAYERS_OF[toggle] || []) {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  }
}

/** A circle of `km` around (lon, lat) as a GeoJSON polygon (great-circle, 64 vertices). */
export function circle(lon, lat, km) {
  const r = km / 6371.0088;
  const φ1 = (lat * Math.PI) / 180;
  const λ1 = (lon * Math.PI) / 180;
  const ring = [];
  for (let i = 0; i <= 64; i++) {
    const θ = (2 * Math.PI * i) / 64;
    const φ2 = Math.asin(Math.sin(φ1) * Math.cos(r) + Math.cos(φ1) * Math.sin(r) * Math.cos(θ));
    const λ2 = λ1 + Math.atan2(Math.sin(θ) * Math.sin(r) * Math.cos(φ1), Math.cos(r) - Math.sin(φ1) * Math.sin(φ2));
    ring.push([(λ2 * 180) / Math.PI, (φ2 * 180) / Math.PI]);
  }
  return { type: 'Polygon', coordinates: [ring] };
}

let shownBases = empty;
let closedBases = [];

/** Greys out the bases a scenario closes (`location (mission)`). */
export function markClosed(map, names) {
  closedBases = names;
  for (const f of shownBases.features) f.properties.closed = names.includes(`${f.properties.location} (${f.properties.mission})`);
  if (map.getSource('bases')) map.getSource('bases').setData(shownBases);
}

/** The bases and their reach circles (the radius of the day: reduced in the rainy season). */
export function setBases(map, fc) {
  if (!map.getSource('bases')) return;
  shownBases = fc;
  markClosed(map, closedBases);
  map.getSource('reach').setData({
    type: 'FeatureCollection',
    features: fc.features
      .filter((f) => f.geometry && f.properties.reach_km > 0)
      .map((f) => ({ type: 'Feature', properties: f.properties, geometry: circle(...f.geometry.coordinates, f.properties.reach_km) })),
  });
}

/** The IDP sites known on the date; returns how many. */
export function setIdp(map, fc) {
  map.getSource('idp').setData(fc);
  return fc.features.length;
}

/** The events of the 30 days up to `date`. */
export function setEvents(map, fc, date) {
  const since = new Date(`${date}T00:00:00Z`);
  since.setUTCDate(since.getUTCDate() - 29);
  const from = since.toISOString().slice(0, 10);
  map.getSource('events').setData({
    type: 'FeatureCollection',
    features: fc.features.filter((f) => f.properties.date_end >= from && f.properties.date_end <= date),
  });
}

/** The legend, always on the map (it folds to its title). */
export function legend(el, sees) {
  const row = (swatch, label) => `<div class="row">${swatch}<span>${label}</span></div>`;
  let html = '<div class="legend-group"><strong>Risk tier</strong>';
  for (const [, colour, label] of TIERS.slice().reverse()) {
    html += row(`<span class="swatch" style="background:${colour}"></span>`, label);
  }
  html += '</div>';
  if (sees) {
    html += row('<span class="swatch gap"></span>', 'Coverage gap: high risk, no base in reach');
    html += row('<span class="swatch dot base"></span>', 'Base (hover: troops)');
    html += row('<span class="swatch reach"></span>', 'Reach of a base on the date');
    html += '<div class="legend-group"><strong>What if</strong>';
    html += row('<span class="swatch dot" style="background:#6a3d9a"></span>', 'Proposed base (dotted: its reach)');
    html += row('<span class="swatch dot" style="background:#1b9e77"></span>', 'Gap it closes');
    html += row('<span class="swatch dot" style="background:#e7298a"></span>', 'Gap it opens');
    html += '</div>';
  }
  html += row('<span class="swatch dot idp"></span>', 'Site of displaced people (larger: more residents)');
  html += '<div class="legend-group"><strong>Events, last 30 days</strong>';
  for (const [, colour, label] of CATEGORIES) {
    html += row(`<span class="swatch dot" style="background:${colour}"></span>`, label);
  }
  html += '</div>';
  el.innerHTML = html;
}
