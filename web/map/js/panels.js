// The side panel: why a cell is red (GET /cells/{h3}/explain), an area's summary, a roll-up
// unit when zoomed out; messages and the loading indicator.

import { TIERS, CATEGORIES } from './layers.js';

const COMPONENTS = [
  ['harm', 'Violence against civilians in the cell'],
  ['conflict', 'Armed clashes in the cell'],
  ['spread', 'Violence nearby'],
  ['baseline', 'Long-run violence around'],
  ['escalation', 'Recent escalation around'],
  ['climate', 'Climate stress'],
];

/** Text made safe for HTML. */
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (x, digits = 2) => (x === null || x === undefined ? '—' : Number(x).toFixed(digits));
/** A whole number with thousands separators (— when missing). */
export const int = (x) => (x === null || x === undefined ? '—' : Math.round(x).toLocaleString('en'));
const pct = (x) => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(x < 0.01 ? 2 : 1)} %`);
const category = (c) => (CATEGORIES.find(([k]) => k === c) || [c, '', c])[2];

function tierBadge(tier) {
  const t = TIERS.find(([k]) => k === tier);
  if (!t) return esc(tier ?? '—');
  const dark = ['high', 'critical'].includes(tier);
  return `<span class="tier" style="background:${t[1]};color:${dark ? '#fff' : '#000'}">${t[2]}</span>`;
}

const panel = () => document.getElementById('panel');

export function close() {
  const p = panel();
  p.hidden = true;
  p.innerHTML = '';
  p.removeAttribute('data-h3');
}

function open(html, onClose) {
  const p = panel();
  p.innerHTML = `<button type="button" class="close" aria-label="Close the panel">✕</button>${html}`;
  p.hidden = false;
  document.getElementById('side').scrollTop = 0;
  p.querySelector('.close').addEventListener('click', () => { close(); onClose?.(); });
  return p;
}

/** The components as a bar chart of their shares of the threat load. */
function bars(cell) {
  return `<div class="bars" role="list" aria-label="Components of the threat load">${COMPONENTS.map(([k, label]) => {
    const share = cell[`${k}_share`] ?? 0;
    return `<div class="bar-row" role="listitem" data-component="${k}" data-value="${cell[k] ?? ''}" data-share="${share}">
      <span title="${k}: ${num(cell[k], 3)}">${label}</span>
      <span class="bar-track"><span class="bar-fill" style="display:block;width:${(100 * share).toFixed(1)}%"></span></span>
      <span>${pct(share)}</span></div>`;
  }).join('')}</div>`;
}

/** Plain words for the forecast's largest parts. */
function forecastTerms(f) {
  if (!f || !f.terms) return '';
  const top = f.terms.slice(0, 5);
  return `<h3>Why this probability</h3><ul>${top
    .map((t) => `<li>${esc(t.words)} <small>(${t.contribution > 0 ? '+' : ''}${num(t.contribution, 2)} log-odds)</small></li>`)
    .join('')}</ul>`;
}

/** The panel of one cell, from its explanation. */
export function cell(x, onClose, onArea) {
  const c = x.cell;
  const change = c.delta_risk === null || c.delta_risk === undefined
    ? 'no earlier snapshot'
    : `${c.delta_risk >= 0 ? '+' : ''}${num(c.delta_risk, 3)} (was ${c.prev_tier ?? '—'})`;
  let html = `<h3>Cell <code>${esc(x.h3)}</code></h3>
    <p>${tierBadge(c.tier)} risk <strong>${num(c.risk, 3)}</strong> on ${esc(x.date)}${c.area ? ` · <button type="button" class="link area-link" title="The area's summary">${esc(c.area)}</button>` : ''}</p>
    <dl>
      <dt>Change since the last snapshot</dt><dd data-field="delta_risk">${esc(change)}</dd>
      <dt>Probability of civilian harm</dt><dd data-field="probability">${c.probability === null || c.probability === undefined ? 'not calibrated (vigil calibrate)' : `${pct(c.probability)}${x.forecast ? ` within ${x.forecast.horizon_days} days` : ''}`}</dd>
      <dt>Hazard</dt><dd>${num(c.hazard, 3)}</dd>
      <dt>People</dt><dd>${c.population === null ? 'no population loaded (neutral)' : int(c.population)}${c.displaced ? ` + ${int(c.displaced)} displaced` : ''}</dd>
    </dl>
    <h3>What makes it red</h3>${bars(c)}`;
  if ('covered' in c) {
    html += `<h3>Coverage</h3><dl>
      <dt>Nearest base</dt><dd>${esc(c.nearest_base ?? '—')}${c.nearest_base_km !== null && c.nearest_base_km !== undefined ? `, ${num(c.nearest_base_km, 1)} km` : ''}</dd>
      <dt>Covered</dt><dd>${c.covered ? 'yes' : 'no'}${c.presence && !c.covered ? ' (presence only)' : ''}</dd>
      <dt>Troops in reach</dt><dd>${int(c.troops_in_reach)}</dd>
      <dt>Troops per 1,000 people</dt><dd>${num(c.troops_per_1000, 1)}</dd>
      <dt>Gap</dt><dd data-field="gap">${c.gap ? `yes, severity ${num(c.gap_severity, 2)}` : 'no'}</dd>
    </dl>`;
  } else {
    html += '<p class="note">Coverage is hidden: your token does not hold <code>deployments:read</code>.</p>';
  }
  html += forecastTerms(x.forecast);
  const evs = x.events || [];
  html += `<h3>Events behind it (${int(x.contributing_events)})</h3>`;
  if (evs.length) {
    html += `<table><thead><tr><th>Date</th><th>Category</th><th class="num">Deaths</th><th>Source</th><th class="num">km</th></tr></thead><tbody>${evs
      .map((e) => `<tr><td>${esc(e.date)}</td><td>${esc(category(e.category))}</td><td class="num">${int(e.fatalities)}</td><td>${esc(e.event.split(':')[0])}</td><td class="num">${num(e.distance_km, 1)}</td></tr>`)
      .join('')}</tbody></table>`;
  } else {
    html += '<p>No event counts towards this cell on this date.</p>';
  }
  const p = open(html, onClose);
  p.dataset.h3 = x.h3;
  p.querySelector('.area-link')?.addEventListener('click', () => onArea?.(c.area));
  return p;
}

/** A roll-up unit (zoomed out: a coarser hexagon summarising its cells). */
export function unit(props, onZoom) {
  const p = open(`<h3>${int(props.cells)} cells around here</h3>
    <p>${tierBadge(props.tier)} worst risk ${num(props.risk, 3)}, mean ${num(props.risk_mean, 3)}</p>
    <dl><dt>High or critical cells</dt><dd>${int(props.high_cells)}</dd>
    ${'gap_cells' in props ? `<dt>Gap cells</dt><dd>${int(props.gap_cells)}</dd>` : ''}
    <dt>People</dt><dd>${int(props.population)}</dd></dl>
    <button type="button" class="zoom">Zoom in to the cells</button>`);
  p.querySelector('.zoom').addEventListener('click', onZoom);
}

/** An area's summary on the date. */
export function area(f, onClose) {
  const a = f.properties;
  const rows = [
    ['Cells', int(a.cells)],
    ['High or critical cells', int(a.high_cells)],
    ['Mean risk / worst', `${num(a.risk_mean, 3)} / ${num(a.risk_max, 3)}`],
    ['People', int(a.population)],
    ['Civilian deaths, last 30 / 90 days', `${int(a.civilian_fatalities_30d)} / ${int(a.civilian_fatalities_90d)}`],
  ];
  if ('gap_cells' in a) {
    rows.push(['Gap cells', int(a.gap_cells)]);
    rows.push(['People in gaps', int(a.population_in_gaps)]);
    rows.push(['Share of the last 30 / 90 days’ deaths in gaps', `${pct(a.gap_hit_rate_30d)} / ${pct(a.gap_hit_rate_90d)}`]);
  }
  const p = open(`<h3>${esc(a.name)} <small>${esc(a.level)}</small></h3><p>on ${esc(a.date)}</p>
    <dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`, onClose);
  p.dataset.area = a.area_id;
}

let messageTimer = null;
/** A message at the bottom of the page (an error, or why the map is empty). */
export function message(text, { sticky = false } = {}) {
  const m = document.getElementById('message');
  m.textContent = text;
  m.hidden = false;
  clearTimeout(messageTimer);
  if (!sticky) messageTimer = setTimeout(() => { m.hidden = true; }, 8000);
}
