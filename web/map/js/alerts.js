// What changed: the cells that entered high or critical, and the new gaps, since an earlier
// snapshot (GET /alerts), neighbouring cells grouped so that the list reads "14 cells
// entered high or critical, north-east of Basse-Kotto Est" rather than 14 lines.

import * as api from './api.js';
import { esc } from './panels.js';

/** Cells closer than this (centre to centre) are one group: one place to look at. */
const NEAR_KM = 10;
const COMPASS = ['east', 'north-east', 'north', 'north-west', 'west', 'south-west', 'south', 'south-east'];

function ring(f) {
  const g = f.geometry;
  return g.type === 'Polygon' ? g.coordinates[0] : g.coordinates[0][0];
}

function centre(points) {
  const n = points.length;
  return points.reduce(([x, y], [px, py]) => [x + px / n, y + py / n], [0, 0]);
}

/** Kilometres between two (lon, lat) points (equirectangular: cells are close). */
function km([x1, y1], [x2, y2]) {
  const k = Math.cos((((y1 + y2) / 2) * Math.PI) / 180);
  return 111.195 * Math.hypot((x2 - x1) * k, y2 - y1);
}

/** Groups of nearby cells: chains of cells less than NEAR_KM apart (or touching, for coarse grids). */
export function group(features) {
  const cells = features.map((f) => {
    const r = ring(f).slice(0, -1);
    const c = centre(r);
    return { f, c, radius: km(c, r[0]), bbox: r.reduce((b, [x, y]) => [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x), Math.max(b[3], y)], [180, 90, -180, -90]) };
  });
  const parent = cells.map((_, i) => i);
  const find = (i) => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (let i = 0; i < cells.length; i++) {
    for (let j = i + 1; j < cells.length; j++) {
      if (km(cells[i].c, cells[j].c) < Math.max(NEAR_KM, 2.2 * Math.max(cells[i].radius, cells[j].radius))) parent[find(i)] = find(j);
    }
  }
  const groups = new Map();
  cells.forEach((cell, i) => {
    const k = find(i);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(cell);
  });
  return [...groups.values()].map((members) => ({
    cells: members.map((m) => m.f.properties.h3),
    centre: centre(members.map((m) => m.c)),
    bbox: members.reduce((b, m) => [Math.min(b[0], m.bbox[0]), Math.min(b[1], m.bbox[1]), Math.max(b[2], m.bbox[2]), Math.max(b[3], m.bbox[3])], [180, 90, -180, -90]),
    areas: [...new Set(members.map((m) => m.f.properties.area).filter(Boolean))],
  })).sort((a, b) => b.cells.length - a.cells.length);
}

/** Where a group lies, in words: "north-east of Basse-Kotto Est" (from the area's centre). */
function where(g, areaCentres) {
  const area = g.areas[0];
  const at = areaCentres.get(area);
  if (!area) return '';
  if (!at) return ` in ${area}`;
  const dx = (g.centre[0] - at[0]) * Math.cos((at[1] * Math.PI) / 180);
  const dy = g.centre[1] - at[1];
  if (Math.hypot(dx, dy) < 0.05) return ` in central ${area}`;
  const dir = COMPASS[Math.round(((Math.atan2(dy, dx) * 180) / Math.PI + 360) % 360 / 45) % 8];
  return `, ${dir} of ${area}${g.areas.length > 1 ? ` and ${g.areas.length - 1} more area${g.areas.length > 2 ? 's' : ''}` : ''}`;
}

/** Sets up the What-changed section. */
export function init(map, { snapshots, date, sees, areaCentres }) {
  const since = document.getElementById('since');
  const list = document.getElementById('alert-list');
  let asked = 0;

  async function refresh() {
    const d = date();
    const earlier = snapshots.filter((s) => s.date < d);
    const keep = since.value;
    since.innerHTML = earlier.map((s) => `<option value="${s.date}">${s.date}</option>`).join('');
    if (!earlier.length) {
      list.innerHTML = '<li>No earlier snapshot to compare with.</li>';
      list.dataset.cells = '0';
      return;
    }
    since.value = earlier.some((s) => s.date === keep) ? keep : earlier.at(-1).date;
    const n = ++asked;
    try {
      const fc = await api.json(`alerts?since=${since.value}&date=${d}`);
      if (n !== asked) return;
      const kinds = [['entered_high', 'entered high or critical'], ...(sees ? [['new_gap', 'became coverage gaps']] : [])];
      const items = [];
      for (const [key, words] of kinds) {
        for (const g of group(fc.features.filter((f) => f.properties[key]))) {
          items.push({ g, text: `${g.cells.length} cell${g.cells.length > 1 ? 's' : ''} ${words}${where(g, areaCentres())}`, key });
        }
      }
      list.innerHTML = items.length
        ? items.map((it, i) => `<li><button type="button" class="link" data-i="${i}" data-kind="${it.key}" data-cells="${it.g.cells.length}" data-bbox="${it.g.bbox.join(',')}">${esc(it.text)}</button></li>`).join('')
        : `<li>Nothing entered high or critical${sees ? ', and no new gap,' : ''} since ${esc(fc.compared_with || since.value)}.</li>`;
      list.dataset.cells = String(fc.features.length);
      list.dataset.since = since.value;
      list.querySelectorAll('button[data-i]').forEach((b) => b.addEventListener('click', () => {
        const g = items[Number(b.dataset.i)].g;
        map.fitBounds([[g.bbox[0], g.bbox[1]], [g.bbox[2], g.bbox[3]]], { padding: 80, maxZoom: 11, duration: 600 });
      }));
    } catch (e) {
      list.innerHTML = `<li class="error">${esc(e.message)}</li>`;
    }
  }
  since.addEventListener('change', refresh);
  return { refresh };
}
