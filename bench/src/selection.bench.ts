/**
 * `npm run bench`, selection scenario: what a tick pays to find its volumes, with the drivers'
 * volume indexes.
 *
 * 1. Memory driver, BENCH_SELECTION_POLICIES policies (default 1000) of 10 volumes each, all
 *    in one namespace: the time and this process's CPU from the first tick to all snapshot jobs
 *    queued (`TickService.handle` + `addSnapshotJobs` per tick, BENCH_SELECTION_CONCURRENCY at
 *    once, default 16, no worker consuming), against a started redis-server. Beside it, the
 *    selection alone through the index and through the former path (list the namespace, then
 *    match), over BENCH_SELECTION_BASELINE_POLICIES policies (default 100), as a ratio that
 *    does not depend on the machine's load. Then what a `/metrics` scrape computes over the
 *    same fleet (the scrape-time gauges: each policy's selection, each volume's snapshots and
 *    interval), warm.
 * 2. Local driver, BENCH_SELECTION_LOCAL_VOLUMES volume directories (default 10000) in groups
 *    of 10 labels: the initial index build, the index's heap per volume, and the warm
 *    `findVolumes` of one policy selecting 10 volumes (mean over BENCH_SELECTION_FINDS calls,
 *    default 200), beside one full `listVolumes` (the former path), unless
 *    BENCH_SELECTION_LIST=0.
 *
 * Run with `--expose-gc` for the heap figure (package.json's bench script does).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSelectedVolumes, selectVolumes, TickService, type StoredPolicy } from '#lib/engine';
import { LocalDriver, MemoryDriver } from '#lib/storage';
import { startTestRedis } from '../../test/support/redis-server.js';
import { createEngineHarness } from '../../test/support/engine-harness.js';
import { Registry } from 'prom-client';
import { createGaugeMetrics } from '../../apps/api/src/metrics-gauges.js';
import { envNumber } from './bench-support.js';

const POLICIES = envNumber('BENCH_SELECTION_POLICIES', 1000);
const CONCURRENCY = envNumber('BENCH_SELECTION_CONCURRENCY', 16);
const BASELINE_POLICIES = envNumber('BENCH_SELECTION_BASELINE_POLICIES', 100);
const LOCAL_VOLUMES = envNumber('BENCH_SELECTION_LOCAL_VOLUMES', 10_000);
const FINDS = envNumber('BENCH_SELECTION_FINDS', 200);
const LIST = process.env.BENCH_SELECTION_LIST !== '0';
const PER_POLICY = 10;
const NAMESPACE = 'fleet';

function line(what: string, value: string, target: string): void {
  console.log(`${what.padEnd(52)} ${value.padStart(12)}   (target ${target})`);
}

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** Wall milliseconds and this process's CPU milliseconds of `fn`. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await fn();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000, value };
}

/** Runs `fn` over `items`, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

function policyDocument(i: number) {
  return {
    apiVersion: 'snapwarden.io/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name: `p${i}`, namespace: NAMESPACE },
    spec: {
      schedule: '0 3 * * *',
      timeZone: 'UTC',
      selector: { matchLabels: { app: `a${i}` } },
      retention: { keepLast: 3 },
    },
  };
}

async function memoryFanOut(): Promise<void> {
  const driver = new MemoryDriver();
  for (let i = 0; i < POLICIES * PER_POLICY; i++) {
    driver.addVolume({
      namespace: NAMESPACE,
      name: `v${i}`,
      labels: { app: `a${Math.floor(i / PER_POLICY)}` },
    });
  }
  const redis = await startTestRedis();
  const harness = createEngineHarness({ redisUrl: redis.url, driver });
  try {
    const stored: StoredPolicy[] = [];
    for (let i = 0; i < POLICIES; i++) stored.push(await harness.addPolicy(policyDocument(i)));
    const ticks = new TickService(harness.deps);
    const scheduledAt = new Date();
    const fanOut = await timed(() =>
      eachLimited(stored, CONCURRENCY, async (policy) => {
        const jobs = await ticks.handle(
          { policyKey: policy.key, specHash: policy.specHash },
          scheduledAt,
        );
        await harness.queues.addSnapshotJobs(jobs);
      }),
    );
    // A tick queues its volumes in group jobs: count the volumes they carry.
    const queuedJobs = await harness.queues.snapshots.getJobs(['waiting', 'delayed']);
    const queued = queuedJobs.reduce(
      (n, job) => n + ('members' in job.data ? job.data.members.length : 1),
      0,
    );
    if (queued !== POLICIES * PER_POLICY) {
      throw new Error(`expected ${POLICIES * PER_POLICY} volumes queued, found ${queued}`);
    }
    console.log(
      `selection: ${POLICIES} policies x ${PER_POLICY} volumes in one namespace, memory driver, ` +
        `${CONCURRENCY} ticks at once (load ${load()})`,
    );
    line(
      `tick fan-out until ${queued} volumes queued (${queuedJobs.length} jobs)`,
      `${(fanOut.ms / 1000).toFixed(2)} s`,
      '<= 2 s',
    );
    line('  of which this process CPU', `${(fanOut.cpuMs / 1000).toFixed(2)} s`, 'n/a');
    await selectionRatio(
      driver,
      stored.slice(0, BASELINE_POLICIES).map((p) => p.policy.spec),
    );
    // What a /metrics scrape computes from the same fleet: per policy its selection, per volume
    // its snapshots and the shortest interval of the policies selecting it.
    const gauges = createGaugeMetrics(new Registry(), {
      driver,
      policies: () => Promise.resolve(stored),
      queues: () => [],
    });
    await gauges.refresh(new Date());
    const scrape = await timed(() => gauges.refresh(new Date()));
    line(
      `metrics scrape-time gauges over the fleet`,
      `${(scrape.ms / 1000).toFixed(2)} s`,
      '<= 1 s',
    );
  } finally {
    await harness.close();
    await driver.close();
    await redis.stop();
  }
}

/** The selection alone: index versus listing the namespace and matching, same policies. */
async function selectionRatio(
  driver: MemoryDriver,
  specs: Parameters<typeof selectVolumes>[1][],
): Promise<void> {
  const indexed = await timed(async () => {
    for (const spec of specs) await findSelectedVolumes(driver, NAMESPACE, spec);
  });
  const listed = await timed(async () => {
    for (const spec of specs) selectVolumes(await driver.listVolumes(NAMESPACE), spec);
  });
  const per = (ms: number) => `${((ms / specs.length) * 1000).toFixed(0)} us`;
  line(`  selection per tick, index (${specs.length} ticks)`, per(indexed.cpuMs), 'n/a');
  line(`  selection per tick, list + match (former)`, per(listed.cpuMs), 'n/a');
  line('  former / index (CPU)', `${(listed.cpuMs / indexed.cpuMs).toFixed(0)}x`, 'n/a');
}

async function writeVolumes(dataDir: string): Promise<void> {
  const volumes = join(dataDir, 'volumes');
  await mkdir(volumes, { recursive: true });
  const names = Array.from({ length: LOCAL_VOLUMES }, (_, i) => i);
  await eachLimited(names, 32, async (i) => {
    await mkdir(join(volumes, `v${i}`));
    await writeFile(join(volumes, `v${i}`, 'data.txt'), 'x'.repeat(100));
    const group = Math.floor(i / PER_POLICY);
    await writeFile(
      join(volumes, `v${i}.volume.yaml`),
      `namespace: ${NAMESPACE}\nlabels:\n  app: a${group}\n  tier: t${i % 3}\n`,
    );
  });
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function localIndex(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'snapwarden-selection-'));
  const driver = new LocalDriver({ dataDir });
  try {
    await writeVolumes(dataDir);
    const hasGc = typeof (globalThis as { gc?: unknown }).gc === 'function';
    const heapBefore = heapUsed();
    const selector = { matchLabels: { app: 'a7' } };
    const built = await timed(() => driver.findVolumes({ namespace: NAMESPACE, selector }));
    const heapAfter = heapUsed();
    if (built.value.length !== PER_POLICY) throw new Error(`found ${built.value.length} volumes`);
    const groups = Math.floor(LOCAL_VOLUMES / PER_POLICY);
    const warm = await timed(async () => {
      for (let i = 0; i < FINDS; i++) {
        const app = `a${(i * 7919) % groups}`;
        const found = await driver.findVolumes({
          namespace: NAMESPACE,
          selector: { matchLabels: { app } },
        });
        if (found.length !== PER_POLICY) throw new Error(`found ${found.length} volumes`);
      }
    });
    console.log(`selection: ${LOCAL_VOLUMES} local volume directories (load ${load()})`);
    line(
      'initial index build (first findVolumes)',
      `${(built.ms / 1000).toFixed(2)} s`,
      'n/a, once per process',
    );
    line(
      'index heap per volume',
      hasGc ? `${((heapAfter - heapBefore) / LOCAL_VOLUMES).toFixed(0)} B` : 'no --expose-gc',
      'n/a',
    );
    line(
      `warm findVolumes, 10 of ${LOCAL_VOLUMES} (mean of ${FINDS})`,
      `${(warm.ms / FINDS).toFixed(2)} ms`,
      '<= 50 ms',
    );
    line('  of which this process CPU', `${(warm.cpuMs / FINDS).toFixed(2)} ms`, 'n/a');
    if (LIST) {
      const listed = await timed(() => driver.listVolumes(NAMESPACE));
      line(
        '  former path: one listVolumes of the namespace',
        `${(listed.ms / 1000).toFixed(2)} s`,
        'n/a',
      );
    }
  } finally {
    await driver.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  await memoryFanOut();
  await localIndex();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
