// What if: add temporary operating bases (click the map), close bases (click one), see the
// gaps that close or open and the change in people in gaps (POST /scenarios); suggest k
// sites (POST /plan). Nothing is stored: the server computes the answer and forgets it.

import * as api from './api.js';
import { esc, int } from './panels.js';
import { circle, markClosed } from './layers.js';

const signed = (x) => `${x > 0 ? '+' : x < 0 ? '−' : '±'}${int(Math.abs(x))}`;
const empty = { type: 'FeatureCollection', features: [] };

/** Sets up the What-if section; `date()` gives the shown snapshot's date. */
export function init(map, { date }) {
  const section = document.getElementById('whatif');
  section.hidden = false;
  const toggle = document.getElementById('whatif-toggle');
  const form = document.getElementById('whatif-form');
  const list = document.getElementById('whatif-changes');
  const result = document.getElementById('whatif-result');
  const planResult = document.getElementById('plan-result');
  const adds = [];
  const closes = [];
  let on = false;
  let asked = 0;

  map.addSource('whatif-reach', { type: 'geojson', data: empty });
  map.addLayer({ id: 'whatif-reach', type: 'line', source: 'whatif-reach', paint: { 'line-color': '#6a3d9a', 'line-width': 2, 'line-dasharray': [1, 1] } });
  map.addSource('whatif-cells', { type: 'geojson', data: empty });
  map.addLayer({
    id: 'whatif-cells', type: 'circle', source: 'whatif-cells',
    paint: {
      'circle-radius': 5,
      'circle-color': ['match', ['get', 'change'], 'closed', '#1b9e77', '#e7298a'],
      'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.5,
    },
  });
  map.addSource('whatif-sites', { type: 'geojson', data: empty });
  map.addLayer({
    id: 'whatif-sites', type: 'circle', source: 'whatif-sites',
    paint: { 'circle-radius': 8, 'circle-color': '#6a3d9a', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2.5 },
  });

  const scenario = () => ({ add: adds.map((a) => ({ ...a })), close: [...closes] });

  function drawChanges() {
    list.innerHTML = [
      ...adds.map((a, i) => `<li>Open <strong>${esc(a.name)}</strong>: ${a.troops ? `${int(a.troops)} troops` : 'presence only'}, reach ${a.radius_km} km <button type="button" data-remove-add="${i}" aria-label="Remove ${esc(a.name)}">✕</button></li>`),
      ...closes.map((c, i) => `<li>Close <strong>${esc(c)}</strong> <button type="button" data-remove-close="${i}" aria-label="Keep ${esc(c)} open">✕</button></li>`),
    ].join('');
    map.getSource('whatif-sites').setData({
      type: 'FeatureCollection',
      features: adds.map((a) => ({ type: 'Feature', properties: { name: a.name }, geometry: { type: 'Point', coordinates: [a.lon, a.lat] } })),
    });
    map.getSource('whatif-reach').setData({
      type: 'FeatureCollection',
      features: adds.map((a) => ({ type: 'Feature', properties: {}, geometry: circle(a.lon, a.lat, a.radius_km) })),
    });
    markClosed(map, closes);
  }

  async function evaluate() {
    drawChanges();
    const n = ++asked;
    if (!adds.length && !closes.length) {
      result.innerHTML = '';
      result.removeAttribute('data-ready');
      map.getSource('whatif-cells').setData(empty);
      return;
    }
    try {
      const x = await api.json(`scenarios?date=${date()}`, { method: 'POST', body: scenario() });
      if (n !== asked) return;
      const all = (rows) => rows.find((r) => r.unit === 'all') || {};
      const [b, a] = [all(x.before), all(x.after)];
      const closed = x.changed.filter((c) => c.gap[0] && !c.gap[1]);
      const opened = x.changed.filter((c) => !c.gap[0] && c.gap[1]);
      result.innerHTML = `<dl>
        <dt>Gap cells</dt><dd data-field="gap_cells">${int(b.gap_cells)} → ${int(a.gap_cells)} (${signed(a.gap_cells - b.gap_cells)})</dd>
        <dt>People in gaps</dt><dd data-field="population_in_gaps" data-after="${a.population_in_gaps}">${int(b.population_in_gaps)} → ${int(a.population_in_gaps)} (${signed(a.population_in_gaps - b.population_in_gaps)})</dd>
        <dt>Civilian deaths in gaps, last 90 days</dt><dd>${int(b.civilian_fatalities_90d_in_gaps)} → ${int(a.civilian_fatalities_90d_in_gaps)}</dd>
        <dt>Gaps closed / opened</dt><dd data-field="closed" data-closed="${closed.map((c) => c.h3).join(',')}">${closed.length} / ${opened.length}</dd>
      </dl>`;
      result.dataset.ready = 'true';
      map.getSource('whatif-cells').setData({
        type: 'FeatureCollection',
        features: [...closed.map((c) => [c, 'closed']), ...opened.map((c) => [c, 'opened'])]
          .map(([c, change]) => ({ type: 'Feature', properties: { h3: c.h3, change }, geometry: { type: 'Point', coordinates: [c.lon, c.lat] } })),
      });
    } catch (e) {
      result.innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  }

  toggle.addEventListener('click', () => {
    on = !on;
    toggle.setAttribute('aria-pressed', String(on));
    toggle.textContent = on ? 'Stop planning' : 'Plan a change';
    form.hidden = !on;
    map.getCanvas().style.cursor = on ? 'crosshair' : '';
  });
  list.addEventListener('click', (e) => {
    const a = e.target.dataset.removeAdd;
    const c = e.target.dataset.removeClose;
    if (a !== undefined) adds.splice(Number(a), 1);
    if (c !== undefined) closes.splice(Number(c), 1);
    if (a !== undefined || c !== undefined) evaluate();
  });
  document.getElementById('whatif-reset').addEventListener('click', () => {
    adds.length = 0;
    closes.length = 0;
    planResult.innerHTML = '';
    evaluate();
  });
  document.getElementById('plan-run').addEventListener('click', async () => {
    const k = Number(document.getElementById('plan-k').value);
    try {
      const p = await api.json(`plan?date=${date()}`, { method: 'POST', body: { k, radius_km: Number(document.getElementById('tob-radius').value) || undefined } });
      planResult.innerHTML = p.sites.length
        ? `<ol>${p.sites.map((s) => `<li>${esc(s.area || s.h3)}: +${int(s.gain)} people (${int(s.gain_cells)} gap cells)</li>`).join('')}</ol>
           <p>Together: ${int(p.sites.at(-1).cumulative)} of ${int(p.demand)} people in gaps.</p>
           <button type="button" id="plan-apply">Try these sites</button>`
        : '<p>No site would cover anyone in a gap.</p>';
      document.getElementById('plan-apply')?.addEventListener('click', () => {
        for (const a of p.scenario.add) adds.push({ ...a, radius_km: a.radius_km ?? 10 });
        evaluate();
      });
    } catch (e) {
      planResult.innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  });

  return {
    active: () => on,
    /** A click on the map in planning mode: close the base under it, or open a TOB there. */
    click(e) {
      const base = map.queryRenderedFeatures(e.point, { layers: ['bases-circle'] })[0];
      if (base) {
        const name = `${base.properties.location} (${base.properties.mission})`;
        const i = closes.indexOf(name);
        if (i >= 0) closes.splice(i, 1);
        else closes.push(name);
      } else {
        const troops = document.getElementById('tob-type').value === 'presence' ? 0 : Math.max(0, Number(document.getElementById('tob-troops').value) || 0);
        adds.push({
          name: `TOB ${adds.length + 1}`,
          lat: Number(e.lngLat.lat.toFixed(5)),
          lon: Number(e.lngLat.lng.toFixed(5)),
          troops,
          radius_km: Math.min(200, Math.max(1, Number(document.getElementById('tob-radius').value) || 10)),
        });
      }
      evaluate();
    },
    /** The date changed: the same changes, on the new date. */
    refresh: () => evaluate(),
    scenario,
  };
}
