// Copies MapLibre GL JS and the PMTiles reader, at the versions package-lock.json pins,
// from node_modules into web/vendor/{maplibre-gl,pmtiles}/, where the vigil binary embeds
// them (include_bytes!), so that a fresh clone builds and serves the map with no npm and no
// network.
//
//   npm ci && npm run vendor          # after changing the pinned version
//   node tools/vendor.mjs --check     # exit 1 when the committed copy differs (CI runs it)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(web, 'package.json'), 'utf8'));
const packages = [
  ['maplibre-gl', [
    ['dist/maplibre-gl.mjs', 'maplibre-gl.mjs'],
    ['dist/maplibre-gl-worker.mjs', 'maplibre-gl-worker.mjs'],
    ['dist/maplibre-gl.css', 'maplibre-gl.css'],
    ['LICENSE.txt', 'LICENSE.txt'],
  ]],
  // The browser bundle (a global `pmtiles`, its decompression included); the package ships
  // no licence file, its package.json says BSD-3-Clause, recorded beside it.
  ['pmtiles', [['dist/pmtiles.js', 'pmtiles.js']]],
];
const check = process.argv.includes('--check');
let failed = false;
for (const [name, files] of packages) {
  const pkg = join(web, 'node_modules', name);
  const out = join(web, 'vendor', name);
  const meta = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
  const pinned = manifest.dependencies[name];
  if (meta.version !== pinned) {
    console.error(`node_modules holds ${name} ${meta.version}, package.json pins ${pinned}: run npm ci`);
    process.exit(1);
  }
  const wanted = [...files.map(([from, to]) => [to, readFileSync(join(pkg, from))]),
    ['VERSION', Buffer.from(`${meta.version}\n`)]];
  if (!files.some(([, to]) => to === 'LICENSE.txt')) {
    wanted.push(['LICENSE.txt', Buffer.from(`${name} ${meta.version}: licence ${meta.license} (its package.json); ${meta.repository?.url || meta.homepage || ''}\n`)]);
  }
  if (check) {
    const stale = wanted.filter(([to, bytes]) => {
      try { return !readFileSync(join(out, to)).equals(bytes); } catch { return true; }
    });
    if (stale.length) {
      console.error(`web/vendor/${name} differs from ${name} ${meta.version}: ${stale.map(([t]) => t).join(', ')} (run npm run vendor)`);
      failed = true;
    } else {
      console.log(`web/vendor/${name} is ${name} ${meta.version}`);
    }
  } else {
    mkdirSync(out, { recursive: true });
    for (const [to, bytes] of wanted) writeFileSync(join(out, to), bytes);
    console.log(`copied ${name} ${meta.version} into web/vendor/${name}`);
  }
}
if (failed) process.exit(1);
