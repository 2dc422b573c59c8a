/**
 * `npm run bench` (second part): the local driver's archives against GNU tar on the same
 * trees: a file of zeros, a sparse file and a file of random data, each BENCH_ARCHIVE_MB
 * (default 256; 1024 for the figures in the README) MiB. Prints, per volume, the process RSS
 * over its baseline while the snapshot and the restore run (target ≤ 64 MB), and their times
 * against `tar -czf` / `tar -xzf`
 * (targets ≤ 1.2× and ≤ 1.5×). With BENCH_ARCHIVE_ROUNDS > 1 each figure is the median of
 * that many rounds (times) or the largest (RSS), which steadies the ratios on a busy machine.
 */
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalDriver } from '#lib/storage';
import { envNumber } from './bench-support.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;
const SIZE_MB = envNumber('BENCH_ARCHIVE_MB', 256);
const ROUNDS = envNumber('BENCH_ARCHIVE_ROUNDS', 1);
const RSS_LIMIT_MB = 64;
const SNAPSHOT_RATIO = 1.2;
const RESTORE_RATIO = 1.5;

type Kind = 'zeros' | 'sparse' | 'random';

interface Row {
  kind: Kind;
  snapshotRssMb: number;
  restoreRssMb: number;
  snapshotS: number;
  tarCzfS: number;
  restoreS: number;
  tarXzfS: number;
}

async function writeVolume(dir: string, kind: Kind): Promise<void> {
  await mkdir(dir, { recursive: true });
  const handle = await open(join(dir, `${kind}.bin`), 'w');
  try {
    if (kind === 'sparse') {
      await handle.write(Buffer.from('end'), 0, 3, SIZE_MB * MIB - 3);
      return;
    }
    const chunk = Buffer.alloc(8 * MIB);
    for (let written = 0; written < SIZE_MB * MIB; written += chunk.length) {
      if (kind === 'random') randomFillSync(chunk);
      await handle.write(chunk, 0, Math.min(chunk.length, SIZE_MB * MIB - written));
    }
  } finally {
    await handle.close();
  }
}

/** Runs `fn`, sampling RSS; returns seconds and the peak RSS over the baseline, in MB. */
async function measure(fn: () => Promise<unknown>): Promise<{ seconds: number; rssMb: number }> {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  const started = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return { seconds: (performance.now() - started) / 1000, rssMb: (peak - baseline) / 1e6 };
}

async function timeOf(fn: () => Promise<unknown>): Promise<number> {
  return (await measure(fn)).seconds;
}

async function benchKind(root: string, driver: LocalDriver, kind: Kind): Promise<Row> {
  const volumeDir = join(root, 'volumes', kind);
  await writeVolume(volumeDir, kind);
  const rounds: Row[] = [];
  for (let round = 1; round <= ROUNDS; round++) rounds.push(await oneRound(root, driver, kind));
  await rm(volumeDir, { recursive: true, force: true });
  const median = (pick: (r: Row) => number) => {
    const sorted = rounds.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  };
  return {
    kind,
    snapshotRssMb: Math.max(...rounds.map((r) => r.snapshotRssMb)),
    restoreRssMb: Math.max(...rounds.map((r) => r.restoreRssMb)),
    snapshotS: median((r) => r.snapshotS),
    tarCzfS: median((r) => r.tarCzfS),
    restoreS: median((r) => r.restoreS),
    tarXzfS: median((r) => r.tarXzfS),
  };
}

async function oneRound(root: string, driver: LocalDriver, kind: Kind): Promise<Row> {
  const volumeDir = join(root, 'volumes', kind);
  const volume = await driver.getVolume({ namespace: 'default', name: kind });
  if (!volume) throw new Error(`volume ${kind} not visible`);
  const ref = { namespace: 'default', name: `${kind}-1` };
  const target = { namespace: 'default', name: `${kind}-copy` };
  const snapshot = await measure(() =>
    driver.createSnapshot({ volume, name: ref.name, labels: {} }),
  );
  const restore = await measure(() => driver.restoreToNewVolume({ snapshot: ref, target }));
  const tarFile = join(root, `${kind}.tar.gz`);
  const tarCzfS = await timeOf(() => run('tar', ['-czf', tarFile, '-C', volumeDir, '.']));
  const out = join(root, `${kind}-tar-out`);
  await mkdir(out);
  const tarXzfS = await timeOf(() => run('tar', ['-xzf', tarFile, '-C', out]));
  await rm(join(root, 'volumes', target.name), { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
  await rm(tarFile, { force: true });
  await driver.deleteSnapshot(ref);
  return {
    kind,
    snapshotRssMb: snapshot.rssMb,
    restoreRssMb: restore.rssMb,
    snapshotS: snapshot.seconds,
    tarCzfS,
    restoreS: restore.seconds,
    tarXzfS,
  };
}

function verdict(ok: boolean): string {
  return ok ? 'ok' : 'OVER';
}

function print(rows: Row[]): void {
  console.log(`\nlocal archives, ${SIZE_MB} MiB per volume (targets: RSS ≤ ${RSS_LIMIT_MB} MB,`);
  console.log(`snapshot ≤ ${SNAPSHOT_RATIO}× tar -czf, restore ≤ ${RESTORE_RATIO}× tar -xzf)`);
  for (const r of rows) {
    const snapRatio = r.snapshotS / r.tarCzfS;
    const restoreRatio = r.restoreS / r.tarXzfS;
    console.log(
      `${r.kind.padEnd(7)} RSS over baseline: snapshot ${r.snapshotRssMb.toFixed(1)} MB ` +
        `${verdict(r.snapshotRssMb <= RSS_LIMIT_MB)}, restore ${r.restoreRssMb.toFixed(1)} MB ` +
        `${verdict(r.restoreRssMb <= RSS_LIMIT_MB)}`,
    );
    console.log(
      `        snapshot ${r.snapshotS.toFixed(2)} s vs tar -czf ${r.tarCzfS.toFixed(2)} s = ` +
        `${snapRatio.toFixed(2)}× ${verdict(snapRatio <= SNAPSHOT_RATIO)}; restore ` +
        `${r.restoreS.toFixed(2)} s vs tar -xzf ${r.tarXzfS.toFixed(2)} s = ` +
        `${restoreRatio.toFixed(2)}× ${verdict(restoreRatio <= RESTORE_RATIO)}`,
    );
  }
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'snapwarden-archive-bench-'));
  const driver = new LocalDriver({ dataDir: root });
  try {
    // Warm-up: loads the archive code and starts a first worker thread before any baseline.
    await benchKindWarmup(root, driver);
    const rows: Row[] = [];
    for (const kind of ['zeros', 'sparse', 'random'] as const)
      rows.push(await benchKind(root, driver, kind));
    print(rows);
  } finally {
    await driver.close();
    await rm(root, { recursive: true, force: true });
  }
}

async function benchKindWarmup(root: string, driver: LocalDriver): Promise<void> {
  await mkdir(join(root, 'volumes', 'warmup'), { recursive: true });
  const volume = await driver.getVolume({ namespace: 'default', name: 'warmup' });
  if (!volume) throw new Error('warm-up volume not visible');
  await driver.createSnapshot({ volume, name: 'warmup-1', labels: {} });
  await driver.restoreToNewVolume({
    snapshot: { namespace: 'default', name: 'warmup-1' },
    target: { namespace: 'default', name: 'warmup-copy' },
  });
}

await main();
