import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { writeAdversarialTree } from '../../testing/adversarial-tree.js';
import { makeTempDir } from '../../testing/temp-dir.js';
import { captureTreeState, stateDifferences } from '../../testing/tree-state.js';
import { emptyPackedContent, packTree } from './pack-tree.js';
import {
  decodeBlock,
  encodeHeader,
  parsePax,
  resolveHeader,
  type Extensions,
} from './tar-format.js';
import { unpackTree } from './unpack-tree.js';

const run = promisify(execFile);

async function* once(buffer: Buffer): AsyncGenerator<Buffer> {
  yield await Promise.resolve(buffer);
}

describe('tar format', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;

  beforeEach(async () => {
    tmp = await makeTempDir();
  });

  afterEach(() => tmp.cleanup());

  it.each(['gnu', 'pax'])(
    'restores what GNU tar wrote in its %s format, every attribute',
    async (format) => {
      const source = join(tmp.path, 'source');
      await mkdir(source);
      await writeAdversarialTree(source);
      const before = await captureTreeState(source);
      // The manifest a snapshot of the same tree would hold: what GNU tar's archive must match.
      const content = emptyPackedContent();
      for await (const chunk of packTree(source, content)) void chunk;
      const archive = join(tmp.path, 'gnu.tar.gz');
      // Sorted as snapwarden walks, so both archive the same name of a hard-linked file first.
      const options = [`--format=${format}`, '--sort=name', '-czf', archive];
      await run('tar', [...options, '-C', source, '.']);
      const tar = gunzipSync(await readFile(archive));
      const dest = join(tmp.path, 'dest');
      await mkdir(dest);

      await unpackTree(once(tar), {
        dest,
        expected: { ...content, archive: { bytes: 0, sha256: '' } },
        owners: process.getuid?.() === 0,
      });
      // GNU tar keeps mtimes to the second in its gnu format, and never the root's in either.
      const fields = format === 'gnu' ? ['mtimeUs' as const] : [];
      expect(
        stateDifferences(await captureTreeState(dest), before, { root: true, fields }),
      ).toEqual([]);
    },
  );

  it('keeps sizes, owners and times beyond the classic header fields in PAX records', () => {
    const blocks = encodeHeader({
      path: Buffer.from('big'),
      kind: 'file',
      mode: 0o644,
      uid: 70_000_000,
      gid: 3_000_000,
      size: 20 * 1024 ** 3,
      mtimeNs: 1_700_000_000_123_456_789n,
    });
    const pax = decodeBlock(blocks.subarray(0, 512));
    expect(pax?.typeflag).toBe('x');
    const ext: Extensions = {};
    parsePax(blocks.subarray(512, 512 + (pax?.size ?? 0)), ext);
    const dataHeaderAt = 512 + Math.ceil((pax?.size ?? 0) / 512) * 512;
    const raw = decodeBlock(blocks.subarray(dataHeaderAt, dataHeaderAt + 512));
    if (!raw) throw new Error('no header');
    expect(resolveHeader(raw, ext)).toEqual({
      path: Buffer.from('big'),
      kind: 'file',
      mode: 0o644,
      uid: 70_000_000,
      gid: 3_000_000,
      size: 20 * 1024 ** 3,
      mtimeNs: 1_700_000_000_123_456_789n,
    });
  });
});
