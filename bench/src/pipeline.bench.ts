/**
 * `npm run bench`: end-to-end volume snapshots per second through the whole pipeline
 * (tick → per-volume jobs → plan → create → ready → prune → audit) with the memory driver at
 * zero latency, against bare BullMQ no-op jobs per second on the same Redis with the same
 * concurrency. Prints both and their ratio.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { MemoryDriver } from '#lib/storage';
import { createEngineHarness } from '../../test/support/engine-harness.js';
import { startTestRedis } from '../../test/support/redis-server.js';

const VOLUMES = Number(process.env.BENCH_VOLUMES ?? 1000);
const TICKS = Number(process.env.BENCH_TICKS ?? 6);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function pipeline(redisUrl: string): Promise<number> {
  const driver = new MemoryDriver({ maxSnapshotsPerVolume: 7 });
  for (let i = 0; i < VOLUMES; i++)
    driver.addVolume({ name: `vol-${i}`, labels: { bench: 'yes' } });
  const harness = createEngineHarness({ redisUrl, driver });
  await harness.addPolicy({
    apiVersion: 'snapwarden.io/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name: 'bench', namespace: 'default' },
    spec: {
      schedule: '0 * * * *',
      selector: { matchLabels: { bench: 'yes' } },
      retention: { keepLast: 3 },
      // The measured ticks are queued at once; Allow lets each tick's job wait for the volume
      // lock instead of being skipped while the previous tick's job is unfinished (Forbid).
      concurrencyPolicy: 'Allow',
    },
  });
  // Warm-up tick: fills connections and scripts, then the measured ticks.
  harness.startWorkers(1, CONCURRENCY);
  await harness.waitForRun(
    await harness.tick('default/bench', new Date(Date.UTC(2026, 0, 1, 0))),
    600_000,
  );
  const createsBefore = driver.stats().creates;
  const started = performance.now();
  const runs: string[] = [];
  for (let t = 1; t <= TICKS; t++) {
    runs.push(await harness.tick('default/bench', new Date(Date.UTC(2026, 0, 1, t))));
  }
  for (const run of runs) {
    const record = await harness.waitForRun(run, 600_000);
    // Every volume must have a ready snapshot: skipped or failed volumes are not throughput.
    if (record.state !== 'succeeded' || record.counts.succeeded !== VOLUMES) {
      throw new Error(`run ${run} ended ${record.state}: ${JSON.stringify(record.counts)}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const stats = driver.stats();
  const created = stats.creates - createsBefore;
  if (created !== VOLUMES * TICKS) {
    throw new Error(`expected ${VOLUMES * TICKS} snapshots created, the driver saw ${created}`);
  }
  await harness.close();
  await driver.close();
  console.log(
    `pipeline: ${VOLUMES * TICKS} volume snapshots in ${seconds.toFixed(2)} s ` +
      `(creates ${stats.creates}, deletes ${stats.deletes}, max ops per volume ${stats.maxConcurrentOpsPerVolume})`,
  );
  return (VOLUMES * TICKS) / seconds;
}

async function bareBullMQ(redisUrl: string): Promise<number> {
  const prefix = `bare${Date.now()}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection, prefix });
  const total = VOLUMES * TICKS;
  let done = 0;
  let resolveAll: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (resolveAll = resolve));
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker('noop', () => Promise.resolve(undefined), {
    connection: workerConnection,
    prefix,
    concurrency: CONCURRENCY,
  });
  worker.on('completed', () => {
    if (++done === total) resolveAll();
  });
  const started = performance.now();
  for (let offset = 0; offset < total; offset += 1000) {
    const size = Math.min(1000, total - offset);
    await queue.addBulk(
      Array.from({ length: size }, (_, i) => ({
        name: 'noop',
        data: { i: offset + i },
        opts: { removeOnComplete: { age: 3600, count: 100_000 } },
      })),
    );
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  workerConnection.disconnect();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  console.log(`bare BullMQ: ${total} no-op jobs in ${seconds.toFixed(2)} s`);
  return total / seconds;
}

async function main() {
  // BENCH_REDIS_URL measures against a Redis of your own (e.g. to read INFO commandstats).
  const external = process.env.BENCH_REDIS_URL;
  const redis = external
    ? { url: external, stop: () => Promise.resolve() }
    : await startTestRedis();
  try {
    console.log(
      `volumes ${VOLUMES}, ticks ${TICKS}, concurrency ${CONCURRENCY}, rounds ${ROUNDS}, ` +
        'memory driver at zero latency',
    );
    // Alternate the two measurements so that a busy moment of the machine hits both alike.
    const bareRounds: number[] = [];
    const pipelineRounds: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bareRounds.push(await bareBullMQ(redis.url));
      pipelineRounds.push(await pipeline(redis.url));
    }
    const bare = median(bareRounds);
    const snapshots = median(pipelineRounds);
    console.log(`medians of ${ROUNDS} rounds:`);
    console.log(`bare BullMQ no-op jobs/s:          ${bare.toFixed(0)}`);
    console.log(`end-to-end volume snapshots/s:     ${snapshots.toFixed(0)}`);
    console.log(`ratio (snapshots/s ÷ no-op jobs/s): ${(snapshots / bare).toFixed(2)}`);
  } finally {
    await redis.stop();
  }
}

await main();
