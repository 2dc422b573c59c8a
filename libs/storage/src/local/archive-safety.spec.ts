import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile, link } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArchiveError } from '../errors.js';
import { captureNotice, interruptionNote } from '../shared/capture-notice.js';
import type { Volume } from '../snapshot-driver.js';
import { readTreeEntries, treeDifferences } from '../testing/file-tree.js';
import { testLocalDriver, writeLocalVolume } from '../testing/local-harness.js';
import { makeTempDir } from '../testing/temp-dir.js';
import { captureTreeState, stateDifferences } from '../testing/tree-state.js';
import type { ArchiveFault } from './archive/archive-job.js';
import type { LocalDriver } from './local.driver.js';
import { asManifest } from './manifest.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ref = (name: string) => ({ namespace: 'default', name });

describe('local archive engine: no hang, honest capture, recorded interruptions', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let driver: LocalDriver;
  let fault: ArchiveFault | undefined;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    tmp = await makeTempDir();
    fault = undefined;
    driver = testLocalDriver({
      dataDir: tmp.path,
      archiveStallMs: 1500,
      builderHeartbeatMs: 100,
      archiveFault: () => fault,
    });
  });

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await driver.close();
    await tmp.cleanup();
  });

  const volumesDir = () => join(tmp.path, 'volumes');
  const manifestOf = async (name: string) => {
    const file = join(tmp.path, 'snapshots', 'default', `${name}.json`);
    return asManifest(JSON.parse(await readFile(file, 'utf8')), file);
  };
  const volume = async (name: string): Promise<Volume> => {
    const found = await driver.getVolume(ref(name));
    if (!found) throw new Error(`volume ${name} not visible`);
    return found;
  };

  it('snapshots and restores hard links across directories, and other operations go on', async () => {
    const dir = await writeLocalVolume(tmp.path, { name: 'linked' }, {});
    await mkdir(join(dir, 'h', 'sub'), { recursive: true });
    await mkdir(join(dir, 'z'));
    await writeFile(join(dir, 'h', 'a'), 'x\n');
    await link(join(dir, 'h', 'a'), join(dir, 'h', 'sub', 'c'));
    await writeFile(join(dir, 'z', 'after'), 'y\n');
    const before = await captureTreeState(dir);
    const linked = await volume('linked');

    await driver.createSnapshot({ volume: linked, name: 'linked-1', labels: {} });
    await Promise.all([
      driver.createSnapshot({ volume: linked, name: 'linked-2', labels: {} }),
      driver.restoreToNewVolume({ snapshot: ref('linked-1'), target: ref('copy') }),
      driver.rollback(ref('linked-1')),
    ]);

    expect(stateDifferences(await captureTreeState(join(volumesDir(), 'copy')), before)).toEqual(
      [],
    );
    expect(stateDifferences(await captureTreeState(dir), before)).toEqual([]);
    expect((await driver.getSnapshot(ref('linked-2')))?.state).toBe('Ready');
  });

  it('stops a stalled snapshot at the watchdog, records it Failed and frees the volume', async () => {
    await writeLocalVolume(tmp.path, { name: 'db' }, { 'data.bin': Buffer.alloc(4 << 20, 7) });
    const db = await volume('db');
    fault = 'stall';

    const stalled = driver.createSnapshot({ volume: db, name: 'db-1', labels: {} });
    await expect(stalled).rejects.toThrow(/snapshot default\/db-1: no progress for 1\.5s/);
    await expect(stalled).rejects.toMatchObject({ transient: false });
    expect(await manifestOf('db-1')).toMatchObject({
      state: 'Failed',
      error: expect.stringMatching(/no progress/),
    });

    fault = undefined;
    const next = await driver.createSnapshot({ volume: db, name: 'db-2', labels: {} });
    expect(next.snapshot.state).toBe('Ready');
    expect(
      (await readdir(join(tmp.path, 'snapshots', 'default'))).filter((n) => n.startsWith('.')),
    ).toEqual([]);
  });

  it('stops a restore whose thread spins, leaves the volume as it was and frees it', async () => {
    await writeLocalVolume(tmp.path, { name: 'db' }, { 'data.bin': Buffer.alloc(1 << 20, 7) });
    await driver.createSnapshot({ volume: await volume('db'), name: 'db-1', labels: {} });
    await writeFile(join(volumesDir(), 'db', 'later.txt'), 'written after the snapshot');
    const current = await readTreeEntries(join(volumesDir(), 'db'));
    fault = 'spin';

    const spinning = driver.rollback(ref('db-1'));
    await expect(spinning).rejects.toBeInstanceOf(ArchiveError);
    await expect(spinning).rejects.toThrow(/no progress/);
    expect(treeDifferences(await readTreeEntries(join(volumesDir(), 'db')), current)).toEqual([]);
    expect((await readdir(volumesDir())).filter((n) => n.startsWith('.'))).toEqual([]);

    fault = undefined;
    await driver.rollback(ref('db-1'));
    expect(await readdir(join(volumesDir(), 'db'))).toEqual(['data.bin']);
  });

  it('records a file that grew while it was read, by name, instead of failing', async () => {
    const dir = await writeLocalVolume(
      tmp.path,
      { name: 'logs' },
      {
        'app.log': Buffer.alloc(64 << 20),
        'quiet.txt': 'still',
      },
    );
    const log = join(dir, 'app.log');
    children.push(
      spawnNode(
        `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(log)},'a');setInterval(()=>fs.writeSync(fd,'line\\n'),1)`,
      ),
    );
    await waitFor(async () => (await readFile(log)).length > 64 << 20);
    const logs = await volume('logs');

    // An append lands within any read of 64 MiB unless the machine stalls the appender.
    let snapshot = (await driver.createSnapshot({ volume: logs, name: 'logs-1', labels: {} }))
      .snapshot;
    for (let attempt = 2; attempt <= 3 && !snapshot.capture; attempt++) {
      const name = `logs-${attempt}`;
      snapshot = (await driver.createSnapshot({ volume: logs, name, labels: {} })).snapshot;
    }
    expect(snapshot.state).toBe('Ready');
    expect(snapshot.capture).toMatchObject({ changedCount: 1, changedWhileRead: ['app.log'] });
    expect(captureNotice(snapshot)).toBe('crash-consistent: 1 file changed while read (app.log)');
  });

  it('redoes a rollback whose process was killed, and reports the interruption', async () => {
    await writeLocalVolume(tmp.path, { name: 'db' }, { 'data.bin': Buffer.alloc(1 << 20, 7) });
    await driver.createSnapshot({ volume: await volume('db'), name: 'db-1', labels: {} });
    await writeFile(join(volumesDir(), 'db', 'later.txt'), 'written after the snapshot');
    const victim = spawnNode(
      `import(${JSON.stringify(join(ROOT, 'dist/libs/storage/src/index.js'))}).then(async ({ LocalDriver }) => {` +
        `const d = new LocalDriver({ dataDir: ${JSON.stringify(tmp.path)}, archiveStallMs: 600000,` +
        ` archiveFault: () => 'stall' });` +
        `await d.rollback({ namespace: 'default', name: 'db-1' }); })`,
    );
    children.push(victim);
    const journal = join(volumesDir(), '.db.operation.json');
    await waitFor(async () => (await readFile(journal).catch(() => undefined)) !== undefined);
    victim.kill('SIGKILL');
    await new Promise((resolve) => victim.once('exit', resolve));

    const report = await driver.rollback(ref('db-1'));
    expect(report.interrupted).toEqual({
      operation: 'rollback',
      snapshot: 'default/db-1',
      startedAt: expect.any(String),
    });
    expect(interruptionNote(report)).toMatch(
      /^; the rollback of snapshot default\/db-1 started at \S+ was cut short by a crash and redone$/,
    );
    expect((await readdir(volumesDir())).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(await readdir(join(volumesDir(), 'db'))).toEqual(['data.bin']);
    expect((await driver.rollback(ref('db-1'))).interrupted).toBeUndefined();
  });

  it('names a socket it cannot archive, in the snapshot and its notice', async () => {
    const dir = await writeLocalVolume(tmp.path, { name: 'app' }, { 'data.txt': 'kept' });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'app.sock'), resolve));
    try {
      const app = await volume('app');
      const { snapshot } = await driver.createSnapshot({ volume: app, name: 'app-1', labels: {} });
      expect(snapshot.capture?.skipped).toEqual(['app.sock']);
      expect(captureNotice(snapshot)).toBe('1 socket or device entry not archived (app.sock)');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rebuilds a snapshot whose builder was killed, and says it was interrupted', async () => {
    await writeLocalVolume(tmp.path, { name: 'db' }, { 'data.bin': Buffer.alloc(1 << 20, 7) });
    const builder = spawnNode(
      `import(${JSON.stringify(join(ROOT, 'dist/libs/storage/src/index.js'))}).then(async ({ LocalDriver }) => {` +
        `const d = new LocalDriver({ dataDir: ${JSON.stringify(tmp.path)}, builderHeartbeatMs: 100,` +
        ` archiveStallMs: 600000, archiveFault: () => 'stall' });` +
        `const v = await d.getVolume({ namespace: 'default', name: 'db' });` +
        `await d.createSnapshot({ volume: v, name: 'db-1', labels: {} }); })`,
    );
    children.push(builder);
    await waitFor(
      async () => (await manifestOf('db-1').catch(() => undefined))?.builder !== undefined,
    );
    builder.kill('SIGKILL');

    const ready = await driver.waitUntilReady(ref('db-1'), 20_000);
    expect(ready.state).toBe('Ready');
    expect(ready.capture?.rebuiltAt).toEqual(expect.any(String));
    expect(captureNotice(ready)).toMatch(
      /^build interrupted at \S+ and redone: the data is the volume as of \S+$/,
    );
    await driver.restoreToNewVolume({ snapshot: ref('db-1'), target: ref('db-copy') });
  });
});

function spawnNode(code: string): ChildProcess {
  return spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
