// Copies MapLibre GL JS, at the version package-lock.json pins, from node_modules into
// web/vendor/maplibre-gl/, where the vigil binary embeds it (include_bytes!), so that a
// fresh clone builds and serves the map with no npm and no network.
//
//   npm ci && npm run vendor          # after changing the pinned version
//   node tools/vendor.mjs --check     # exit 1 when the committed copy differs (CI runs it)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = join(web, 'node_modules', 'maplibre-gl');
const out = join(web, 'vendor', 'maplibre-gl');
const files = [
  ['dist/maplibre-gl.mjs', 'maplibre-gl.mjs'],
  ['dist/maplibre-gl-worker.mjs', 'maplibre-gl-worker.mjs'],
  ['dist/maplibre-gl.css', 'maplibre-gl.css'],
  ['LICENSE.txt', 'LICENSE.txt'],
];
const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version;
const pinned = JSON.parse(readFileSync(join(web, 'package.json'), 'utf8')).dependencies['maplibre-gl'];
if (version !== pinned) {
  console.error(`node_modules holds maplibre-gl ${version}, package.json pins ${pinned}: run npm ci`);
  process.exit(1);
}
const wanted = [...files.map(([from, to]) => [to, readFileSync(join(pkg, from))]),
  ['VERSION', Buffer.from(`${version}\n`)]];
if (process.argv.includes('--check')) {
  const stale = wanted.filter(([to, bytes]) => {
    try { return !readFileSync(join(out, to)).equals(bytes); } catch { return true; }
  });
  if (stale.length) {
    console.error(`web/vendor/maplibre-gl differs from maplibre-gl ${version}: ${stale.map(([t]) => t).join(', ')} (run npm run vendor)`);
    process.exit(1);
  }
  console.log(`web/vendor/maplibre-gl is maplibre-gl ${version}`);
} else {
  mkdirSync(out, { recursive: true });
  for (const [to, bytes] of wanted) writeFileSync(join(out, to), bytes);
  console.log(`copied maplibre-gl ${version} into web/vendor/maplibre-gl`);
}
