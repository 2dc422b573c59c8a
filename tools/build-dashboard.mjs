// Bundles the dashboard (dashboard/src, browser TypeScript + chart.js) into dist/dashboard.
import { build } from 'esbuild';
import { Buffer } from 'node:buffer';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
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
await writeFile(join(out, 'favicon.ico'), favicon());

/** A 16×16 icon (a shield in the accent colour), written as a 32-bit ICO. */
function favicon() {
  const size = 16;
  const header = Buffer.alloc(6 + 16 + 40);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(1, 4); // one image
  const pixels = Buffer.alloc(size * size * 4);
  const mask = Buffer.alloc(size * 4);
  header.writeUInt8(size, 6);
  header.writeUInt8(size, 7);
  header.writeUInt16LE(1, 10); // planes
  header.writeUInt16LE(32, 12); // bits per pixel
  header.writeUInt32LE(40 + pixels.length + mask.length, 14);
  header.writeUInt32LE(22, 18);
  header.writeUInt32LE(40, 22);
  header.writeInt32LE(size, 26);
  header.writeInt32LE(size * 2, 30);
  header.writeUInt16LE(1, 34);
  header.writeUInt16LE(32, 36);
  for (let row = 0; row < size; row++) {
    const y = size - 1 - row; // bottom-up rows
    for (let x = 0; x < size; x++) {
      const half = y < 9 ? 7 : 7 - (y - 8);
      const inside = y >= 1 && Math.abs(x - 7.5) <= half;
      const offset = (row * size + x) * 4;
      if (inside) pixels.set([0xd3, 0x5c, 0x17, 0xff], offset); // BGRA of #175cd3
    }
  }
  return Buffer.concat([header, pixels, mask]);
}
