import { lstat, readdir } from 'node:fs/promises';
import { unlessMissing } from './fs-util.js';

/**
 * Total bytes of the regular files in a tree, each file once however many hard links it has
 * (as an archive stores it). Names are handled as bytes, so no name is skipped; entries that
 * vanish meanwhile are.
 */
export async function treeBytes(root: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const visit = async (dir: Buffer): Promise<void> => {
    const names = await unlessMissing(() => readdir(dir, { encoding: 'buffer' }));
    for (const name of names ?? []) {
      const path = Buffer.concat([dir, Buffer.from('/'), name]);
      const info = await unlessMissing(() => lstat(path, { bigint: true }));
      if (info?.isDirectory()) await visit(path);
      else if (info?.isFile() && !seen.has(`${info.dev}:${info.ino}`)) {
        if (info.nlink > 1n) seen.add(`${info.dev}:${info.ino}`);
        total += Number(info.size);
      }
    }
  };
  await visit(Buffer.from(root));
  return total;
}
