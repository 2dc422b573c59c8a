// Bundles the dashboard (dashboard/src, browser TypeScript + chart.js) into dist/dashboard.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'dashboard');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(root, 'dashboard', 'src', 'main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
await copyFile(join(root, 'dashboard', 'index.html'), join(out, 'index.html'));
await copyFile(join(root, 'dashboard', 'app.css'), join(out, 'app.css'));
