import { execFile } from 'node:child_process';
import { appendFile, chmod, mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NON_UTF8, writeAdversarialTree } from '../../testing/adversarial-tree.js';
import { testLocalDriver, writeLocalVolume } from '../../testing/local-harness.js';
import { makeTempDir } from '../../testing/temp-dir.js';
import { captureTreeState, stateDifferences, type EntryState } from '../../testing/tree-state.js';
import type { LocalDriver } from '../local.driver.js';

const run = promisify(execFile);
const ref = (name: string) => ({ namespace: 'default', name });

describe('local archives of a hostile tree', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let driver: LocalDriver;
  let volumeDir: string;
  let before: Map<string, EntryState>;

  beforeAll(async () => {
    tmp = await makeTempDir();
    driver = testLocalDriver({ dataDir: tmp.path });
    volumeDir = await writeLocalVolume(tmp.path, { name: 'hostile' }, {});
    await writeAdversarialTree(volumeDir);
    before = await captureTreeState(volumeDir);
    const volume = await driver.getVolume(ref('hostile'));
    if (!volume) throw new Error('volume not visible');
    await driver.createSnapshot({ volume, name: 'hostile-1', labels: {} });
    await mutate(volumeDir);
  });

  afterAll(async () => {
    await driver.close();
    await chmod(join(volumeDir, 'ro'), 0o755).catch(() => undefined);
    await tmp.cleanup();
  });

  it('captured the tree it is compared with (the fixture is what it claims)', () => {
    const names = [...before.keys()];
    expect(names).toEqual(
      expect.arrayContaining([
        `hex:${NON_UTF8.toString('hex')}`,
        JSON.stringify('line\nbreak'),
        JSON.stringify('caf\u00e9'),
        JSON.stringify('cafe\u0301'),
        JSON.stringify('n'.repeat(250)),
      ]),
    );
    expect(before.get(JSON.stringify('sparse'))?.sparse).toBe(true);
    expect(before.get(JSON.stringify('h/sub/c'))?.links).toEqual([
      JSON.stringify('h/a'),
      JSON.stringify('h/b'),
    ]);
  });

  it('restores every name and attribute into a new volume', async () => {
    await driver.restoreToNewVolume({ snapshot: ref('hostile-1'), target: ref('copy') });
    const restored = await captureTreeState(join(tmp.path, 'volumes', 'copy'));
    expect(stateDifferences(restored, before)).toEqual([]);
  });

  it('rolls the mutated volume back to every name and attribute', async () => {
    await driver.rollback(ref('hostile-1'));
    expect(stateDifferences(await captureTreeState(volumeDir), before)).toEqual([]);
  });

  it('writes an archive GNU tar lists and extracts to the same tree (holes aside)', async () => {
    const archive = join(tmp.path, 'snapshots', 'default', 'hostile-1.tar.gz');
    const { stdout } = await run('tar', ['-tzf', archive, '--quoting-style=literal'], {
      encoding: 'buffer',
    });
    expect(stdout.includes(NON_UTF8)).toBe(true);
    const out = join(tmp.path, 'gnu');
    await mkdir(out);
    await run('tar', ['-xzf', archive, '-C', out, '--same-permissions', '--same-owner']);
    // GNU tar writes the sparse file in full: the archive holds its zeros, not its holes.
    const ignore = { root: true, fields: ['sparse' as const] };
    expect(stateDifferences(await captureTreeState(out), before, ignore)).toEqual([]);
  });
});

/** Changes of every kind, so a restore that only half-works cannot pass. */
async function mutate(dir: string): Promise<void> {
  await appendFile(join(dir, 'h', 'a'), 'changed through one of its links\n');
  await unlink(join(dir, 'z', 'after'));
  await rm(join(dir, 'links'), { recursive: true });
  await writeFile(join(dir, 'added-later'), 'not in the snapshot');
  await chmod(join(dir, 'setuid'), 0o644);
  await chmod(join(dir, 'sticky'), 0o755);
}
