// The web map in a real browser: Debian's Chromium, headless, driven by playwright-core.
// Run by tests/it/browser.rs, which starts two `vigil serve` on the sample store (one
// open, one with tokens) and passes:
//   VIGIL_URL          the open server, e.g. http://127.0.0.1:34567
//   VIGIL_TOKENS_URL   the server with tokens
//   VIGIL_RISK_TOKEN   a token holding risk:read only
//   VIGIL_FULL_TOKEN   a token holding risk:read and deployments:read
//   VIGIL_ARTIFACTS    where screenshots and timings are written
//   VIGIL_BASEMAP_PORT the port of the basemap the token server is configured with
//                      (`[map] basemap = "http://127.0.0.1:PORT/style.json"`): this suite
//                      serves that style there, as a mission's tile server would
// Exit status 0 when every check passed; each failure is printed with its reason.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (see the head of this file)`);
  return v;
};
const BASE = env('VIGIL_URL');
const TOKENS = env('VIGIL_TOKENS_URL');
const RISK_TOKEN = env('VIGIL_RISK_TOKEN');
const FULL_TOKEN = env('VIGIL_FULL_TOKEN');
const OUT = env('VIGIL_ARTIFACTS');
const PMTILES = env('VIGIL_PMTILES');
mkdirSync(OUT, { recursive: true });
const BASEMAP_PORT = Number(env('VIGIL_BASEMAP_PORT'));
const BASEMAP = `http://127.0.0.1:${BASEMAP_PORT}`;

// The mission's tile server: a style with a background only; every request is recorded.
const basemapRequests = [];
const basemap = createServer((req, res) => {
  basemapRequests.push({ url: req.url, authorization: req.headers.authorization });
  res.setHeader('Access-Control-Allow-Origin', '*');
  if (req.url.startsWith('/style.json')) {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ version: 8, name: 'mission basemap', sources: {}, layers: [{ id: 'mission-background', type: 'background', paint: { 'background-color': '#dbe7f0' } }] }));
  } else {
    res.statusCode = 404;
    res.end();
  }
});
await new Promise((resolve) => basemap.listen(BASEMAP_PORT, '127.0.0.1', resolve));

// Playwright gives the browser a fresh, empty profile (--user-data-dir) of its own.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // Nothing may leave the machine: every host but the servers' fails to resolve.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  ],
});

const timings = {};
const failures = [];
let passed = 0;
async function check(name, f) {
  const started = Date.now();
  try {
    await f();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** A new page that records every request it makes, and the page's errors. */
async function open(base) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { context, page, requests, errors, base };
}

/** The API, as a script would read it (JSON). */
async function get(base, path, token) {
  const res = await fetch(`${base}/${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  assert(res.ok, `${path}: ${res.status}`);
  return res.json();
}

async function ready(page, date) {
  await page.waitForFunction(() => window.vigil && window.vigil.ready, null, { timeout: 30000 });
  if (date) await page.waitForFunction((d) => document.body.dataset.date === d, date, { timeout: 30000 });
}

/** The rendered risk features: h3 → tier (cells of the base resolution only). */
async function renderedTiers(page) {
  return page.evaluate(() => {
    const out = {};
    for (const f of window.vigil.map.queryRenderedFeatures({ layers: ['risk-fill'] })) {
      if (f.properties.cells === 1) out[f.properties.h3] = f.properties.tier;
    }
    return out;
  });
}

/** Distinct colours in a screenshot of the map (a blank map has one or two). */
async function colours(page) {
  const png = await page.locator('#map').screenshot();
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 16) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    const hex = (n) => `#${n.toString(16).padStart(6, '0')}`;
    return [...seen].map(hex);
  }, png.toString('base64'));
}

const onlyServer = (requests, base) => requests.filter((u) => !u.startsWith(`${base}/`) && !u.startsWith('data:') && !u.startsWith('blob:'));

// ---------------------------------------------------------------------------------------

const snapshots = (await get(BASE, 'snapshots')).snapshots;
const latest = snapshots.at(-1);
const earlier = snapshots.at(-2);
const gap = (await get(BASE, 'collections/coverage-gaps/items?limit=1')).features[0];

await check('a browser asking for / gets the HTML landing page, which links the map', async () => {
  const s = await open(BASE);
  const res = await s.page.goto(`${BASE}/`);
  assert(res.headers()['content-type'].startsWith('text/html'), `content-type ${res.headers()['content-type']}`);
  await s.page.click('a.map');
  await ready(s.page, latest.date);
  assert(s.page.url() === `${BASE}/map` || s.page.url().startsWith(`${BASE}/map#`), s.page.url());
  await s.context.close();
});

await check('the map renders the risk layer, bases, events and areas, with the legend, offline', async () => {
  const s = await open(BASE);
  await s.page.goto(`${BASE}/map`);
  await ready(s.page, latest.date);
  timings.first_render_ms = await s.page.evaluate(() => window.vigil.firstRenderMs);
  const counts = await s.page.evaluate(() => {
    const m = window.vigil.map;
    const n = (id) => m.queryRenderedFeatures({ layers: [id] }).length;
    return { risk: n('risk-fill'), gaps: n('gaps-line'), bases: n('bases-circle'), reach: n('reach-line'), events: n('events-circle'), idp: n('idp-circle'), areas: n('areas-line') };
  });
  const sites = (await get(BASE, `collections/idp-sites/items?datetime=${latest.date}`)).features.length;
  assert(counts.idp === sites, `${counts.idp} IDP sites drawn, ${sites} stored`);
  for (const [k, v] of Object.entries(counts)) assert(v > 0, `no ${k} features rendered: ${JSON.stringify(counts)}`);
  const cs = await colours(s.page);
  // The tier colours of the cells drawn over the background, not a blank canvas.
  assert(cs.length > 50, `only ${cs.length} colours on the map`);
  const legend = await s.page.textContent('#legend');
  for (const word of ['Critical', 'High', 'Coverage gap', 'Base', 'Violence against civilians']) {
    assert(legend.includes(word), `legend lacks ${word}`);
  }
  await s.page.screenshot({ path: join(OUT, 'map.png') });
  const outside = onlyServer(s.requests, BASE);
  assert(outside.length === 0, `requests left the server: ${outside.join(', ')}`);
  assert(s.errors.length === 0, `page errors: ${s.errors.join(' | ')}`);
  await s.context.close();
});

await check('a tile archive opens from a file: the day\'s tiers, gaps and bases drawn, no tile asked of a server', async () => {
  const s = await open(BASE);
  await s.page.goto(`${BASE}/map/archive.html`);
  await s.page.setInputFiles('#archive-file', PMTILES);
  await s.page.waitForFunction(() => window.vigil && window.vigil.ready, null, { timeout: 30000 });
  const got = await s.page.evaluate(() => {
    const m = window.vigil.map;
    const n = (id) => m.queryRenderedFeatures({ layers: [id] }).length;
    const tiers = {};
    for (const f of m.queryRenderedFeatures({ layers: ['risk-fill'] })) tiers[f.properties.h3] = f.properties.tier;
    return { date: window.vigil.date, layers: window.vigil.layers, risk: n('risk-fill'), gaps: n('gaps-line'), bases: n('bases-circle'), tiers };
  });
  assert(got.date === latest.date, `archive of ${got.date}, expected ${latest.date}`);
  assert(sameJson(got.layers, ['risk', 'coverage-gaps', 'bases']), JSON.stringify(got.layers));
  for (const k of ['risk', 'gaps', 'bases']) assert(got[k] > 0, `no ${k} drawn from the archive: ${JSON.stringify(got)}`);
  // Its tiles are the server's byte for byte (tests/it/gis_clients.rs); here: they draw as tiers.
  const tiers = new Set(Object.values(got.tiers));
  assert([...tiers].every((t) => ['low', 'moderate', 'elevated', 'high', 'critical'].includes(t)), [...tiers].join());
  assert(tiers.size >= 3, `only the tiers ${[...tiers].join()} drawn`);
  const cs = await colours(s.page);
  assert(cs.length > 50, `only ${cs.length} colours on the archive map`);
  await s.page.screenshot({ path: join(OUT, 'archive.png') });
  const tiles = s.requests.filter((u) => u.includes('/tiles/') || u.includes('/collections/'));
  assert(tiles.length === 0, `the archive page asked the server for data: ${tiles.join(', ')}`);
  const outside = onlyServer(s.requests, BASE);
  assert(outside.length === 0, `requests left the page's own files: ${outside.join(', ')}`);
  assert(s.errors.length === 0, `page errors: ${s.errors.join(' | ')}`);
  await s.context.close();
});

await check('clicking a gap cell opens its panel: its h3, and the components of the explain endpoint', async () => {
  const s = await open(BASE);
  const [lon, lat] = gap.geometry.coordinates[0][0].slice(0, -1)
    .reduce(([x, y], [px, py], _, r) => [x + px / r.length, y + py / r.length], [0, 0]);
  await s.page.goto(`${BASE}/map#date=${latest.date}&z=11&c=${lon},${lat}`);
  await ready(s.page, latest.date);
  const box = await s.page.locator('#map').boundingBox();
  await s.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await s.page.waitForSelector(`#panel[data-h3="${gap.properties.h3}"]`, { timeout: 15000 });
  const explain = await get(BASE, `cells/${gap.properties.h3}/explain?top=10`);
  const bars = await s.page.$$eval('#panel .bar-row', (rows) => rows.map((r) => [r.dataset.component, Number(r.dataset.value), Number(r.dataset.share)]));
  assert(bars.length === 6, `${bars.length} component bars`);
  for (const [k, value, share] of bars) {
    assert(value === explain.cell[k], `${k}: panel ${value}, explain ${explain.cell[k]}`);
    assert(share === explain.cell[`${k}_share`], `${k}_share: panel ${share}, explain ${explain.cell[`${k}_share`]}`);
  }
  const gapText = await s.page.textContent('#panel [data-field="gap"]');
  assert(gapText.startsWith('yes'), `gap field: ${gapText}`);
  const rows = await s.page.$$eval('#panel tbody tr', (r) => r.length);
  assert(rows === Math.min(10, explain.events.length), `${rows} event rows, explain lists ${explain.events.length}`);
  assert(s.page.url().includes(`cell=${gap.properties.h3}`), `the URL keeps the cell: ${s.page.url()}`);
  const lb = await s.page.locator('#legend').boundingBox();
  assert(lb && lb.y >= 0 && lb.y + lb.height <= 720 && lb.width > 100, `the legend is not in view beside an open panel: ${JSON.stringify(lb)}`);
  await s.page.screenshot({ path: join(OUT, 'cell-panel.png') });
  // Its area's summary, one click away: the figures of the areas collection on that date.
  await s.page.click('#panel .area-link');
  await s.page.waitForSelector('#panel[data-area]');
  const id = await s.page.getAttribute('#panel', 'data-area');
  const area = await get(BASE, `collections/areas/items/${encodeURIComponent(id)}?datetime=${latest.date}`);
  assert(area.properties.name === explain.cell.area, `area ${area.properties.name}, the cell's ${explain.cell.area}`);
  const shown = await s.page.$$eval('#panel dd', (dd) => dd.map((d) => d.textContent));
  assert(shown[0] === area.properties.cells.toLocaleString('en'), `cells ${shown[0]} vs ${area.properties.cells}`);
  assert(shown.includes(Math.round(area.properties.population_in_gaps).toLocaleString('en')), `people in gaps ${area.properties.population_in_gaps} not in ${shown}`);
  await s.page.screenshot({ path: join(OUT, 'area-panel.png') });
  await s.context.close();
});

await check('changing the date redraws the cells as the snapshots say, and the link keeps the view', async () => {
  const s = await open(BASE);
  const [lon, lat] = gap.geometry.coordinates[0][0][0];
  await s.page.goto(`${BASE}/map#z=9.5&c=${lon},${lat}`);
  await ready(s.page, latest.date);
  const before = await renderedTiers(s.page);
  await s.page.selectOption('#date', earlier.date);
  await ready(s.page, earlier.date);
  const after = await renderedTiers(s.page);
  const switchMs = await s.page.evaluate(() => window.vigil.switches.at(-1).ms);
  timings.date_switch_ms = switchMs;
  const cells = Object.keys(after);
  assert(cells.length > 20, `${cells.length} cells rendered`);
  const changed = cells.filter((h) => before[h] !== undefined && before[h] !== after[h]);
  assert(changed.length > 0, 'no cell changed tier between the two dates');
  // Every rendered cell's tier is the one the earlier snapshot stores.
  const bounds = await s.page.evaluate(() => window.vigil.map.getBounds().toArray().flat());
  const items = await get(BASE, `collections/risk/items?bbox=${bounds.join(',')}&datetime=${earlier.date}&limit=10000`);
  const stored = Object.fromEntries(items.features.map((f) => [f.properties.h3, f.properties.tier]));
  const wrong = cells.filter((h) => stored[h] !== undefined && stored[h] !== after[h]);
  assert(wrong.length === 0, `${wrong.length} cells drawn with another tier than stored, e.g. ${wrong[0]}`);
  assert(cells.filter((h) => stored[h] !== undefined).length > 20, 'few rendered cells found in the stored snapshot');
  assert(s.page.url().includes(`date=${earlier.date}`), `the URL keeps the date: ${s.page.url()}`);
  // The link, opened elsewhere, shows the same date and place.
  const link = s.page.url();
  const t = await open(BASE);
  await t.page.goto(link);
  await ready(t.page, earlier.date);
  assert(await t.page.inputValue('#date') === earlier.date, 'the date control of the link');
  const again = await renderedTiers(t.page);
  assert(sameJson(Object.keys(again).sort(), cells.sort()), 'the link shows other cells');
  await s.page.screenshot({ path: join(OUT, 'earlier-date.png') });
  // Back and forth with the buttons.
  await s.page.click('#date-next');
  await ready(s.page, latest.date);
  await t.context.close();
  await s.context.close();
});

await check('what if: a TOB over a gap closes it, and the people in gaps are the scenario endpoint\'s; suggested sites are the plan\'s', async () => {
  const s = await open(BASE);
  const [lon, lat] = gap.geometry.coordinates[0][0].slice(0, -1)
    .reduce(([x, y], [px, py], _, r) => [x + px / r.length, y + py / r.length], [0, 0]);
  await s.page.goto(`${BASE}/map#date=${latest.date}&z=10&c=${lon},${lat}`);
  await ready(s.page, latest.date);
  await s.page.click('#whatif-toggle');
  await s.page.fill('#tob-troops', '150');
  const box = await s.page.locator('#map').boundingBox();
  await s.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await s.page.waitForSelector('#whatif-result[data-ready]');
  const scenario = await s.page.evaluate(() => window.vigil.scenario());
  assert(scenario.add.length === 1 && scenario.add[0].troops === 150, JSON.stringify(scenario));
  const res = await fetch(`${BASE}/scenarios?date=${latest.date}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(scenario) });
  assert(res.ok, `scenarios: ${res.status}`);
  const x = await res.json();
  const after = x.after.find((r) => r.unit === 'all').population_in_gaps;
  const before = x.before.find((r) => r.unit === 'all').population_in_gaps;
  assert(after < before, `people in gaps ${before} → ${after}`);
  const shown = Number(await s.page.getAttribute('#whatif-result [data-field="population_in_gaps"]', 'data-after'));
  assert(shown === after, `the page says ${shown} people in gaps after, the endpoint ${after}`);
  const closed = (await s.page.getAttribute('#whatif-result [data-field="closed"]', 'data-closed')).split(',');
  assert(closed.includes(gap.properties.h3), `the gap under the TOB (${gap.properties.h3}) is not among the closed: ${closed.slice(0, 5)}`);
  const drawn = await s.page.evaluate(() => window.vigil.map.queryRenderedFeatures({ layers: ['whatif-cells', 'whatif-sites', 'whatif-reach'] }).length);
  assert(drawn > 0, 'the scenario is not drawn');
  await s.page.screenshot({ path: join(OUT, 'scenario.png') });
  // Suggested sites: those of POST /plan.
  await s.page.click('#whatif-reset');
  await s.page.fill('#plan-k', '2');
  await s.page.click('#plan-run');
  await s.page.waitForSelector('#plan-result li');
  const items = await s.page.$$eval('#plan-result li', (li) => li.map((l) => l.textContent));
  const plan = await (await fetch(`${BASE}/plan?date=${latest.date}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ k: 2, radius_km: 10 }) })).json();
  assert(items.length === plan.sites.length, `${items.length} sites listed, the plan has ${plan.sites.length}`);
  for (const [i, site] of plan.sites.entries()) {
    assert(items[i].includes(`+${Math.round(site.gain).toLocaleString('en')} people`), `site ${i + 1}: ${items[i]} vs gain ${site.gain}`);
  }
  await s.page.click('#plan-apply');
  await s.page.waitForFunction(() => window.vigil.scenario().add.length === 2);
  await s.page.waitForSelector('#whatif-result[data-ready]');
  await s.page.screenshot({ path: join(OUT, 'plan.png') });
  assert(s.errors.length === 0, `page errors: ${s.errors.join(' | ')}`);
  await s.context.close();
});

await check('what changed: the alerts of the endpoint, grouped, each zooming to its place', async () => {
  const s = await open(BASE);
  await s.page.goto(`${BASE}/map`);
  await ready(s.page, latest.date);
  const since = snapshots[0].date;
  await s.page.selectOption('#since', since);
  await s.page.waitForFunction((d) => document.getElementById('alert-list').dataset.since === d, since);
  const x = await get(BASE, `alerts?since=${since}&date=${latest.date}`);
  for (const kind of ['entered_high', 'new_gap']) {
    const expected = x.features.filter((f) => f.properties[kind]).length;
    const groups = await s.page.$$eval(`#alert-list button[data-kind="${kind}"]`, (b) => b.map((x) => [Number(x.dataset.cells), x.textContent]));
    const listed = groups.reduce((n, [c]) => n + c, 0);
    assert(listed === expected, `${kind}: ${listed} cells listed, the endpoint has ${expected}`);
    assert(expected === 0 || groups.length < expected || expected === 1, `${kind}: ${groups.length} groups for ${expected} cells: nothing grouped`);
    for (const [n, text] of groups) assert(text.startsWith(`${n} cell`), text);
  }
  const first = s.page.locator('#alert-list button[data-i]').first();
  const bbox = (await first.getAttribute('data-bbox')).split(',').map(Number);
  await first.click();
  await s.page.waitForFunction(() => !window.vigil.map.isMoving());
  await s.page.waitForTimeout(800);
  const c = await s.page.evaluate(() => window.vigil.map.getCenter().toArray());
  assert(c[0] >= bbox[0] && c[0] <= bbox[2] && c[1] >= bbox[1] && c[1] <= bbox[3], `centre ${c} outside ${bbox}`);
  await s.page.screenshot({ path: join(OUT, 'alerts.png') });
  await s.context.close();
});

await check('hand-over: the layer in view as GeoJSON and CSV, and a PNG with legend, scale and sources', async () => {
  const s = await open(BASE);
  const [lon, lat] = gap.geometry.coordinates[0][0][0];
  await s.page.goto(`${BASE}/map#date=${earlier.date}&z=9&c=${lon},${lat}`);
  await ready(s.page, earlier.date);
  const take = async (button) => {
    const [dl] = await Promise.all([s.page.waitForEvent('download'), s.page.click(button)]);
    const path = join(OUT, dl.suggestedFilename());
    await dl.saveAs(path);
    return [dl.suggestedFilename(), readFileSync(path)];
  };
  await s.page.selectOption('#dl-layer', 'risk');
  const [gname, gbytes] = await take('#dl-geojson');
  assert(gname === `vigil-risk-${earlier.date}.geojson`, gname);
  const fc = JSON.parse(gbytes.toString());
  const api = await get(BASE, `collections/risk/items?bbox=${fc.bbox.join(',')}&datetime=${earlier.date}&limit=1`);
  assert(fc.features.length === api.numberMatched && fc.features.length > 100, `${fc.features.length} features downloaded, ${api.numberMatched} in the view`);
  assert(fc.features.every((f) => f.properties.date === earlier.date), 'features of another date');
  assert(fc.attribution && fc.attribution.length > 0, 'no attribution in the GeoJSON');
  const [cname, cbytes] = await take('#dl-csv');
  assert(cname.endsWith('.csv'), cname);
  const lines = cbytes.toString().trim().split('\n');
  assert(lines.length === fc.features.length + 1 && lines[0].split(',').includes('h3'), `${lines.length} CSV lines`);
  const [pname, pbytes] = await take('#dl-png');
  assert(pname === `vigil-map-${earlier.date}.png`, pname);
  assert(pbytes.subarray(1, 4).toString() === 'PNG' && pbytes.length > 50000, `PNG of ${pbytes.length} bytes`);
  const size = [pbytes.readUInt32BE(16), pbytes.readUInt32BE(20)];
  assert(size[0] > 2 * 900 && size[1] > 2 * 600, `PNG ${size}`);
  await s.context.close();
});

await check('usable: keyboard-reachable controls, a 10-inch tablet, a loading indicator, a message when a request fails', async () => {
  const s = await open(BASE);
  await s.page.goto(`${BASE}/map`);
  await ready(s.page, latest.date);
  // Tab reaches the date controls, the layer toggles and the side panel's buttons.
  const reached = new Set();
  for (let i = 0; i < 40; i++) {
    await s.page.keyboard.press('Tab');
    reached.add(await s.page.evaluate(() => document.activeElement.id || document.activeElement.dataset.layer || document.activeElement.className));
  }
  for (const id of ['date-prev', 'date', 'date-play', 'risk', 'gaps', 'since', 'whatif-toggle', 'dl-png']) {
    assert(reached.has(id), `Tab never reaches ${id}: ${[...reached].join(' ')}`);
  }
  await s.page.locator('#layer-list input').first().focus();
  await s.page.keyboard.press('[');
  await ready(s.page, earlier.date);
  // A slow answer shows the loading indicator; a failed one, a message that says why.
  // (Generous times: under a loaded CI machine the request may start a second late.)
  await s.page.route('**/collections/events/items*', async (route) => { await new Promise((r) => setTimeout(r, 3000)); await route.continue(); });
  await s.page.keyboard.press(']');
  await s.page.waitForSelector('#busy:not([hidden])', { timeout: 5000 });
  await ready(s.page, latest.date);
  await s.page.route('**/cells/*/explain*', (route) => route.fulfill({
    status: 503, contentType: 'application/problem+json',
    body: JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'the store is being rewritten (test)' }),
  }));
  const [lon, lat] = gap.geometry.coordinates[0][0][0];
  await s.page.evaluate(([x, y]) => window.vigil.map.jumpTo({ center: [x, y], zoom: 11 }), [lon, lat]);
  await s.page.waitForFunction(() => window.vigil.map.areTilesLoaded());
  const box = await s.page.locator('#map').boundingBox();
  await s.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await s.page.waitForSelector('#message:not([hidden])');
  const text = await s.page.textContent('#message');
  assert(text.includes('the store is being rewritten (test)'), `message: ${text}`);
  await s.context.close();
  // A 10-inch tablet, both ways up: no sideways scrolling, the map keeps most of the page.
  for (const [w, h, name] of [[1280, 800, 'tablet-landscape'], [800, 1280, 'tablet-portrait']]) {
    const context = await browser.newContext({ viewport: { width: w, height: h }, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${BASE}/map`);
    await page.waitForFunction(() => window.vigil && window.vigil.ready, null, { timeout: 30000 });
    const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: innerWidth, map: document.getElementById('map').getBoundingClientRect() }));
    assert(m.scroll <= m.inner, `${name}: page ${m.scroll} px wide in ${m.inner}`);
    assert(m.map.width * m.map.height > 0.4 * w * h, `${name}: map ${Math.round(m.map.width)}×${Math.round(m.map.height)}`);
    await page.screenshot({ path: join(OUT, `${name}.png`) });
    await context.close();
  }
});

await check('with tokens: the page asks for one; risk:read sees no bases and no gaps; it is never in a URL', async () => {
  const s = await open(TOKENS);
  await s.page.goto(`${TOKENS}/map`);
  await s.page.waitForSelector('#token-dialog[open]');
  await s.page.screenshot({ path: join(OUT, 'token-prompt.png') });
  await s.page.fill('#token', 'not-a-token');
  await s.page.click('#token-form button[type=submit]');
  await s.page.waitForSelector('#token-error:not([hidden])');
  await s.page.fill('#token', RISK_TOKEN);
  await s.page.click('#token-form button[type=submit]');
  await ready(s.page, latest.date);
  const seen = await s.page.evaluate(() => {
    const m = window.vigil.map;
    return {
      sources: Object.keys(m.getStyle().sources),
      risk: m.queryRenderedFeatures({ layers: ['risk-fill'] }).length,
      toggles: [...document.querySelectorAll('#layer-list input')].map((i) => i.dataset.layer),
      note: document.getElementById('hidden-note').hidden ? '' : document.getElementById('hidden-note').textContent,
    };
  });
  assert(seen.risk > 0, 'no risk features with a risk:read token');
  for (const hidden of ['bases', 'coverage-gaps', 'reach']) assert(!seen.sources.includes(hidden), `source ${hidden} with a risk:read token`);
  assert(!seen.toggles.includes('gaps') && !seen.toggles.includes('bases'), `toggles ${seen.toggles}`);
  assert(seen.note.includes('deployments:read'), `note: ${seen.note}`);
  const asked = s.requests.filter((u) => /collections\/(bases|coverage-gaps)|tiles\/(bases|coverage-gaps)/.test(u));
  assert(asked.length === 0, `asked for deployment layers: ${asked[0]}`);
  assert(!s.requests.some((u) => u.includes(RISK_TOKEN)), 'the token appeared in a URL');
  await s.page.screenshot({ path: join(OUT, 'risk-only.png') });
  // A cell's panel has no coverage for this caller.
  const box = await s.page.locator('#map').boundingBox();
  await s.page.evaluate(([lon, lat]) => window.vigil.map.jumpTo({ center: [lon, lat], zoom: 11 }), gap.geometry.coordinates[0][0][0]);
  await s.page.waitForFunction(() => window.vigil.map.areTilesLoaded());
  await s.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await s.page.waitForSelector('#panel:not([hidden]) .bars');
  const panel = await s.page.textContent('#panel');
  assert(!panel.includes('Nearest base') && panel.includes('Coverage is hidden'), 'coverage shown to risk:read');
  const outside = onlyServer(s.requests, TOKENS).filter((u) => !u.startsWith(`${BASEMAP}/`));
  assert(outside.length === 0, `requests left the server and the configured basemap: ${outside.join(', ')}`);
  // The configured basemap is drawn under Vigil's layers, and never sees the token.
  const style = await s.page.evaluate(() => window.vigil.map.getStyle().layers.map((l) => l.id));
  assert(style[0] === 'mission-background' && style.includes('risk-fill'), `layers ${style.slice(0, 4)}`);
  assert(basemapRequests.some((r) => r.url.startsWith('/style.json')), 'the basemap style was not asked for');
  assert(basemapRequests.every((r) => !r.authorization), 'the token was sent to the basemap server');
  await s.context.close();

  const f = await open(TOKENS);
  await f.page.goto(`${TOKENS}/map`);
  await f.page.waitForSelector('#token-dialog[open]');
  await f.page.fill('#token', FULL_TOKEN);
  await f.page.click('#token-form button[type=submit]');
  await ready(f.page, latest.date);
  const full = await f.page.evaluate(() => window.vigil.map.queryRenderedFeatures({ layers: ['bases-circle'] }).length);
  assert(full > 0, 'no bases with deployments:read');
  const stored = await f.page.evaluate(() => [sessionStorage.getItem('vigil.token'), document.cookie]);
  assert(stored[0] === FULL_TOKEN && stored[1] === '', 'the token is in sessionStorage and no cookie is set');
  await f.context.close();
});

await browser.close();
basemap.close();
writeFileSync(join(OUT, 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
console.log(`timings: ${JSON.stringify(timings)}`);
console.log(`${passed} passed, ${failures.length} failed${failures.length ? `: ${failures.join('; ')}` : ''}`);
process.exit(failures.length ? 1 : 0);
