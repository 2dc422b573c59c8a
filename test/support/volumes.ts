import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Creates a local-mode volume of random files (nested folders, an empty file, binary data). */
export async function makeVolume(
  dataDir: string,
  name: string,
  labels: Record<string, string>,
  bytes = 256 * 1024,
): Promise<string> {
  const dir = join(dataDir, 'volumes', name);
  await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
  await writeFile(join(dir, 'big.bin'), randomBytes(bytes));
  await writeFile(join(dir, 'nested', 'notes with spaces.txt'), `volume ${name}\n`);
  await writeFile(join(dir, 'nested', 'deeper', 'small.bin'), randomBytes(1024));
  await writeFile(join(dir, 'empty'), '');
  const labelLines = Object.entries(labels).map(([k, v]) => `  ${k}: "${v}"`);
  await writeFile(
    join(dataDir, 'volumes', `${name}.volume.yaml`),
    ['namespace: default', 'labels:', ...labelLines, ''].join('\n'),
  );
  return dir;
}

/** Every file under `dir` with its bytes, keyed by relative path. */
export async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  async function walk(current: string) {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if ((await stat(path)).isFile()) files.set(relative(dir, path), await readFile(path));
    }
  }
  await walk(dir);
  return files;
}
