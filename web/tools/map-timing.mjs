// Times the web map in headless Chromium against a running server (not a test: it prints
// numbers). Each run is a fresh browser context (empty cache):
//   first render  navigation → the risk tiles of the served date drawn (window.vigil.firstRenderMs)
//   date switch   choosing the previous snapshot → its tiles, bases and events drawn (cold),
//                 then the next one back (warm: tiles cached by the browser)
// and the size of the page's own code and styles (MapLibre excluded).
//
//   node tools/map-timing.mjs http://127.0.0.1:8080 [runs=7] [hash, e.g. 'z=9&c=21.1,6.5']
import { chromium } from 'playwright-core';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const [base = 'http://127.0.0.1:8080', runsArg = '7', hash = ''] = process.argv.slice(2);
const runs = Number(runsArg);
const web = join(dirname(fileURLToPath(import.meta.url)), '..', 'map');
const own = [join(web, 'index.html'), join(web, 'map.css'), ...readdirSync(join(web, 'js')).map((f) => join(web, 'js', f))];
const bytes = own.reduce((n, f) => n + readFileSync(f).length, 0);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
});
const first = [];
const cold = [];
const warm = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  await page.goto(`${base}/map${hash ? `#${hash}` : ''}`);
  await page.waitForFunction(() => window.vigil && window.vigil.ready, null, { timeout: 60000 });
  first.push(await page.evaluate(() => window.vigil.firstRenderMs));
  const dates = await page.$$eval('#date option', (o) => o.map((x) => x.value));
  const current = await page.inputValue('#date');
  const at = dates.indexOf(current);
  if (at > 0) {
    for (const [date, into] of [[dates[at - 1], cold], [current, warm]]) {
      await page.selectOption('#date', date);
      await page.waitForFunction((d) => document.body.dataset.date === d, date, { timeout: 60000 });
      into.push(await page.evaluate(() => window.vigil.switches.at(-1).ms));
    }
  }
  await context.close();
}
await browser.close();
const stat = (xs) => {
  if (!xs.length) return 'n/a';
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms (${s[0].toFixed(0)}–${s.at(-1).toFixed(0)}, ${s.length} runs)`;
};
console.log(`page code and styles: ${bytes} bytes (${own.length} files), MapLibre excluded`);
console.log(`first render:         ${stat(first)}`);
console.log(`date switch, cold:    ${stat(cold)}`);
console.log(`date switch, back:    ${stat(warm)}`);
