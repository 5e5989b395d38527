// Builds the operator console (console/) into dist/console/: index.html, console.js (Preact and the
// views, one minified ES module) and console.css (Pico CSS and the console's own rules). The server
// serves exactly these three files at /console/ (src/http/routes/console.ts). Run by `npm run build`,
// and so by `npm install` (prepare) and `npm start` (prestart).
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const outdir = path.join(root, 'dist', 'console');

const started = Date.now();
fs.rmSync(outdir, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { console: 'console/src/main.tsx' },
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16', 'edge110'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  // Preact's and Pico's licence notices go at the end of each file.
  legalComments: 'eof',
  // Nothing may be fetched at run time: a url() to a file would be a request the CSP refuses.
  loader: { '.svg': 'dataurl' },
  metafile: true,
  logLevel: 'warning',
});
fs.copyFileSync(path.join(root, 'console', 'index.html'), path.join(outdir, 'index.html'));

const produced = fs.readdirSync(outdir).sort();
const expected = ['console.css', 'console.js', 'index.html'];
if (produced.join() !== expected.join()) {
  throw new Error(`the console build wrote ${produced.join(', ')}; the server serves exactly ${expected.join(', ')}`);
}
const sizes = Object.entries(result.metafile.outputs).map(([file, { bytes }]) => `${path.basename(file)} ${(bytes / 1024).toFixed(1)} KiB`);
console.log(`console built into dist/console/ in ${Date.now() - started} ms: ${sizes.join(', ')}`);
