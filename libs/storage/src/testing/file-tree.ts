import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Fills `dir` with the kinds of content a restore must reproduce byte for byte: nested
 * directories, an empty file, an empty directory, a few MB of random binary data, names with
 * spaces and unusual characters, and a symbolic link.
 */
export async function writeVariedTree(dir: string, megabytes = 3): Promise<void> {
  const files: Record<string, Buffer> = {
    'big.bin': randomBytes(megabytes * 1024 * 1024),
    'empty.txt': Buffer.alloc(0),
    'notes with spaces.txt': Buffer.from('hello, volume\n'),
    'nested/deeper/small.bin': randomBytes(1024),
    'nested/ünïcødé & #odd$ (name).dat': randomBytes(4096),
    'nested/@at-sign': Buffer.from('starts with @'),
    '.hidden/config': Buffer.from('dotfiles are data too'),
    'zeros.bin': Buffer.alloc(2 * 1024 * 1024),
  };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await mkdir(join(dir, 'empty-dir'), { recursive: true });
  await symlink('nested/deeper/small.bin', join(dir, 'link-to-small'));
}

/** Every entry of a tree: file bytes, directory markers and link targets, by relative path. */
export async function readTreeEntries(dir: string): Promise<Map<string, string | Buffer>> {
  const out = new Map<string, string | Buffer>();
  async function walk(prefix: string): Promise<void> {
    for (const name of (await readdir(join(dir, prefix))).sort()) {
      const path = prefix ? `${prefix}/${name}` : name;
      const info = await lstat(join(dir, path));
      if (info.isDirectory()) {
        out.set(`${path}/`, 'dir');
        await walk(path);
      } else if (info.isSymbolicLink()) {
        out.set(path, `-> ${await readlink(join(dir, path))}`);
      } else {
        out.set(path, await readFile(join(dir, path)));
      }
    }
  }
  await walk('');
  return out;
}

/** What differs between two trees read by `readTreeEntries` (empty when identical). */
export function treeDifferences(
  actual: Map<string, string | Buffer>,
  expected: Map<string, string | Buffer>,
): string[] {
  const differences: string[] = [];
  for (const [path, value] of expected) {
    const other = actual.get(path);
    if (other === undefined) differences.push(`missing ${path}`);
    else if (!sameValue(other, value)) differences.push(`changed ${path}`);
  }
  for (const path of actual.keys()) {
    if (!expected.has(path)) differences.push(`extra ${path}`);
  }
  return differences;
}

function sameValue(a: string | Buffer, b: string | Buffer): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}
