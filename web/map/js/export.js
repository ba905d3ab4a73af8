// Hand-over: the visible area's layer as GeoJSON or CSV (the collections' items, paged),
// and a PNG of the map with its title and date, legend, north arrow, scale bar and the
// sources' attribution.

import * as api from './api.js';
import { TIERS, CATEGORIES } from './layers.js';

const MAX_FEATURES = 50000;

function save(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

/** Every feature of `collection` in the map's view on `date`, following the `next` links. */
async function features(map, collection, date) {
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(6)).join(',');
  let path = `collections/${collection}/items?bbox=${bbox}&datetime=${date}&limit=10000`;
  const out = { type: 'FeatureCollection', features: [] };
  while (path && out.features.length < MAX_FEATURES) {
    const page = await api.json(path);
    out.features.push(...page.features);
    out.numberMatched = page.numberMatched;
    out.snapshot = page.snapshot;
    out.attribution = page.attribution;
    const next = (page.links || []).find((l) => l.rel === 'next');
    path = next ? next.href.slice(next.href.indexOf(`collections/${collection}`)) : null;
  }
  out.bbox = bbox.split(',').map(Number);
  return out;
}

function csv(fc) {
  const keys = [...new Set(fc.features.flatMap((f) => Object.keys(f.properties)))];
  const cell = (v) => {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [keys.join(','), ...fc.features.map((f) => keys.map((k) => cell(f.properties[k])).join(','))];
  return `${lines.join('\n')}\n`;
}

/** Downloads `collection` in the view as `format` (geojson or csv); returns the count. */
export async function download(map, collection, date, format) {
  const fc = await features(map, collection, date);
  const name = `vigil-${collection}-${date}`;
  if (format === 'csv') save(new Blob([csv(fc)], { type: 'text/csv' }), `${name}.csv`);
  else save(new Blob([JSON.stringify(fc)], { type: 'application/geo+json' }), `${name}.geojson`);
  return fc.features.length;
}

/** Metres per CSS pixel at the map's centre. */
function metresPerPixel(map) {
  const lat = map.getCenter().lat;
  return (40075016.686 * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** map.getZoom());
}

/** A round scale-bar length (km) and its width in pixels, at most `max` pixels. */
function scaleBar(map, max) {
  const mpp = metresPerPixel(map);
  const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
  const km = steps.filter((s) => (s * 1000) / mpp <= max).at(-1) || steps[0];
  return [km, (km * 1000) / mpp];
}

function wrap(g, text, width) {
  const words = text.split(' ');
  const lines = [''];
  for (const w of words) {
    const t = lines.at(-1) ? `${lines.at(-1)} ${w}` : w;
    if (g.measureText(t).width > width && lines.at(-1)) lines.push(w);
    else lines[lines.length - 1] = t;
  }
  return lines;
}

/** The map as a PNG with title, date, legend, north arrow, scale and attribution. */
export async function png(map, { date, sees, attribution }) {
  const shot = await new Promise((resolve) => {
    map.once('render', () => resolve(map.getCanvas().toDataURL('image/png')));
    map.triggerRepaint();
  });
  const img = new Image();
  img.src = shot;
  await img.decode();
  const w = map.getCanvas().clientWidth;
  const h = map.getCanvas().clientHeight;
  const side = 250;
  const head = 44;
  const g0 = document.createElement('canvas').getContext('2d');
  g0.font = '12px sans-serif';
  const foot = wrap(g0, `Sources: ${attribution}`, w + side - 24);
  const footH = 16 * foot.length + 16;
  const dpr = 2;
  const c = document.createElement('canvas');
  c.width = (w + side) * dpr;
  c.height = (h + head + footH) * dpr;
  const g = c.getContext('2d');
  g.scale(dpr, dpr);
  g.fillStyle = '#fff';
  g.fillRect(0, 0, w + side, h + head + footH);
  g.fillStyle = '#000';
  g.font = 'bold 18px sans-serif';
  g.fillText(`Vigil — civilian risk${sees ? ' and coverage gaps' : ''}, ${date}`, 12, 28);
  g.drawImage(img, 0, head, w, h);
  g.strokeStyle = '#777';
  g.strokeRect(0.5, head + 0.5, w - 1, h - 1);

  // North arrow (the map may be rotated).
  const bearing = (map.getBearing() * Math.PI) / 180;
  g.save();
  g.translate(w - 30, head + 40);
  g.rotate(-bearing);
  g.fillStyle = '#000';
  g.beginPath();
  g.moveTo(0, -18);
  g.lineTo(8, 10);
  g.lineTo(0, 4);
  g.lineTo(-8, 10);
  g.closePath();
  g.fill();
  g.font = 'bold 12px sans-serif';
  g.textAlign = 'center';
  g.fillText('N', 0, 24);
  g.restore();

  // Scale bar.
  const [km, px] = scaleBar(map, 160);
  const y = head + h - 18;
  g.fillStyle = 'rgba(255,255,255,0.85)';
  g.fillRect(8, y - 16, px + 60, 26);
  g.fillStyle = '#000';
  g.fillRect(14, y, px, 4);
  g.fillRect(14, y - 6, 2, 10);
  g.fillRect(14 + px - 2, y - 6, 2, 10);
  g.font = '12px sans-serif';
  g.fillText(`${km} km`, 20 + px, y + 5);

  // Legend.
  let ly = head + 18;
  const x0 = w + 14;
  const row = (draw, label) => {
    draw(x0, ly - 10);
    g.fillStyle = '#000';
    g.font = '12px sans-serif';
    g.fillText(label, x0 + 30, ly);
    ly += 20;
  };
  const box = (colour) => (x, yy) => { g.fillStyle = colour; g.fillRect(x, yy, 22, 12); g.strokeStyle = '#777'; g.strokeRect(x + 0.5, yy + 0.5, 21, 11); };
  const dot = (colour) => (x, yy) => { g.fillStyle = colour; g.beginPath(); g.arc(x + 11, yy + 6, 5, 0, 2 * Math.PI); g.fill(); };
  g.font = 'bold 13px sans-serif';
  g.fillText('Risk tier', x0, ly);
  ly += 18;
  for (const [, colour, label] of TIERS.slice().reverse()) row(box(colour), label);
  if (sees) {
    row((x, yy) => {
      g.strokeStyle = '#000';
      g.lineWidth = 2;
      g.strokeRect(x + 1, yy + 1, 20, 10);
      g.lineWidth = 1;
      for (let i = 0; i < 22; i += 5) { g.beginPath(); g.moveTo(x + i, yy + 12); g.lineTo(x + Math.min(i + 12, 22), yy + Math.max(12 - (22 - i), 0)); g.stroke(); }
    }, 'Coverage gap');
    row(dot('#000'), 'Base');
    row((x, yy) => { g.strokeStyle = '#1f4e79'; g.setLineDash([3, 3]); g.beginPath(); g.arc(x + 11, yy + 6, 6, 0, 2 * Math.PI); g.stroke(); g.setLineDash([]); }, 'Reach of a base');
  }
  ly += 6;
  g.font = 'bold 13px sans-serif';
  g.fillStyle = '#000';
  g.fillText('Events, last 30 days', x0, ly);
  ly += 18;
  for (const [, colour, label] of CATEGORIES) row(dot(colour), label);

  g.fillStyle = '#333';
  g.font = '12px sans-serif';
  foot.forEach((line, i) => g.fillText(line, 12, head + h + 20 + 16 * i));
  const blob = await new Promise((resolve) => c.toBlob(resolve, 'image/png'));
  save(blob, `vigil-map-${date}.png`);
  return { width: c.width, height: c.height };
}
