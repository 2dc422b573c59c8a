/**
 * `npm run bench`: end-to-end volume snapshots per second through the whole pipeline
 * (tick → per-volume jobs → plan → create → ready → prune → audit) with the memory driver at
 * zero latency, against bare BullMQ no-op jobs per second on the same Redis with the same
 * concurrency. Prints both and their ratio (target ≥ 0.5). Then rounds at the app's default
 * worker concurrency measure the cost of a snapshot independently of the machine's load: CPU ms
 * of this process and of Redis (target ≤ 1 ms), and Redis commands, per snapshot; and, beside
 * them, the CPU ms of a bare no-op job at the same concurrency. Both sides of the ratio are
 * mostly that CPU, so on a busy machine, where the ratio swings from round to round, the CPU
 * quotient says where the ratio is headed.
 * Knobs (environment): BENCH_VOLUMES, BENCH_TICKS, BENCH_CONCURRENCY, BENCH_ROUNDS,
 * BENCH_COST_CONCURRENCY, BENCH_COST_ROUNDS, BENCH_REDIS_URL.
 */
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { MemoryDriver } from '#lib/storage';
import { createEngineHarness } from '../../test/support/engine-harness.js';
import { startTestRedis } from '../../test/support/redis-server.js';
import { bareBullMQSeconds, envNumber } from './bench-support.js';

const VOLUMES = envNumber('BENCH_VOLUMES', 1000);
const TICKS = envNumber('BENCH_TICKS', 6);
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 50);
/**
 * Ratio rounds, alternated with bare BullMQ's; the medians are compared. A round lasts about a
 * second and each side's first is a cold one (1.2–1.7× its later rounds): with three, one more
 * slow round on either side moved the median; five leave room for it.
 */
const ROUNDS = envNumber('BENCH_ROUNDS', 5);
/** The app's default `SNAPWARDEN_WORKER_CONCURRENCY`, for the cost round. */
const COST_CONCURRENCY = envNumber('BENCH_COST_CONCURRENCY', 8);
/** Cost rounds; the cheapest is printed (other work on the machine only ever adds CPU). */
const COST_ROUNDS = envNumber('BENCH_COST_ROUNDS', 3);
/** Target of the whole system's CPU per snapshot (this process plus Redis), in ms. */
const CPU_TARGET_MS = 1;
/** Target of the ratio of end-to-end snapshots per second to bare no-op jobs per second. */
const RATIO_TARGET = 0.5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** What the measured ticks cost: CPU of this process and of Redis, and Redis commands. */
interface Cost {
  appCpuMs: number;
  redisCpuMs: number;
  /** Calls per command, counting those scripts run. */
  commands: Map<string, number>;
  /** Bytes Redis received and sent. */
  bytesIn: number;
  bytesOut: number;
}

interface RedisCounters {
  cpuMs: number;
  calls: Map<string, number>;
  bytesIn: number;
  bytesOut: number;
}

/** Redis's CPU so far (ms) and its calls per command, from `INFO`. */
async function redisCounters(redis: Redis): Promise<RedisCounters> {
  const info = await redis.info('all');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls.set(match[1] ?? '', Number(match[2]));
  }
  return {
    cpuMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1000,
    calls,
    bytesIn: field('total_net_input_bytes'),
    bytesOut: field('total_net_output_bytes'),
  };
}

/** Starts counting; the returned function gives what was spent since, INFO calls excluded. */
async function startCost(redis: Redis): Promise<() => Promise<Cost>> {
  const before = await redisCounters(redis);
  const app = process.cpuUsage();
  return async () => {
    const { user, system } = process.cpuUsage(app);
    const after = await redisCounters(redis);
    const commands = new Map<string, number>();
    for (const [name, calls] of after.calls) {
      const delta = calls - (before.calls.get(name) ?? 0) - (name === 'info' ? 1 : 0);
      if (delta > 0) commands.set(name, delta);
    }
    return {
      appCpuMs: (user + system) / 1000,
      redisCpuMs: after.cpuMs - before.cpuMs,
      commands,
      bytesIn: after.bytesIn - before.bytesIn,
      bytesOut: after.bytesOut - before.bytesOut,
    };
  };
}

/** One pipeline round: snapshots per second, and what the measured ticks cost. */
async function pipeline(
  redisUrl: string,
  concurrency: number,
): Promise<{ rate: number; cost: Cost }> {
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
  harness.startWorkers(1, concurrency);
  await harness.waitForRun(
    await harness.tick('default/bench', new Date(Date.UTC(2026, 0, 1, 0))),
    600_000,
  );
  const createsBefore = driver.stats().creates;
  const stopCost = await startCost(harness.redis);
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
  const cost = await stopCost();
  const stats = driver.stats();
  const created = stats.creates - createsBefore;
  if (created !== VOLUMES * TICKS) {
    throw new Error(`expected ${VOLUMES * TICKS} snapshots created, the driver saw ${created}`);
  }
  await harness.close();
  await driver.close();
  console.log(
    `pipeline (concurrency ${concurrency}): ${VOLUMES * TICKS} volume snapshots in ${seconds.toFixed(2)} s ` +
      `(creates ${stats.creates}, deletes ${stats.deletes}, max ops per volume ${stats.maxConcurrentOpsPerVolume})`,
  );
  return { rate: (VOLUMES * TICKS) / seconds, cost };
}

function cpuOf(cost: Cost): number {
  return cost.appCpuMs + cost.redisCpuMs;
}

/** Prints a cost round per snapshot: CPU against the target, and Redis commands by name. */
function printCost(cost: Cost, snapshots: number, concurrency: number, rounds: number): void {
  const app = cost.appCpuMs / snapshots;
  const redis = cost.redisCpuMs / snapshots;
  const total = [...cost.commands.values()].reduce((a, b) => a + b, 0);
  const byName = [...cost.commands]
    .sort((a, b) => b[1] - a[1])
    .map(([name, calls]) => `${name} ${(calls / snapshots).toFixed(2)}`)
    .join(', ');
  console.log(
    `cost per snapshot at concurrency ${concurrency}, cheapest of ${rounds} rounds ` +
      `(load ${loadavg()[0]?.toFixed(2)}):`,
  );
  console.log(`CPU ms, this process:              ${app.toFixed(3)}`);
  console.log(`CPU ms, Redis:                     ${redis.toFixed(3)}`);
  console.log(
    `CPU ms, sum:                       ${(app + redis).toFixed(3)} (target ≤ ${CPU_TARGET_MS})`,
  );
  console.log(
    `Redis bytes in / out:              ${(cost.bytesIn / snapshots).toFixed(0)} / ${(cost.bytesOut / snapshots).toFixed(0)}`,
  );
  console.log(`Redis commands (with scripts'):    ${(total / snapshots).toFixed(2)} (${byName})`);
}

/** What bare BullMQ's no-op jobs cost this process and Redis, for as many jobs as snapshots. */
async function bareBullMQCost(redisUrl: string, concurrency: number): Promise<Cost> {
  const redis = new Redis(redisUrl);
  let cost: Cost | undefined;
  try {
    await bareBullMQSeconds(redisUrl, VOLUMES * TICKS, concurrency, async () => {
      const stopCost = await startCost(redis);
      return async () => {
        cost = await stopCost();
      };
    });
  } finally {
    redis.disconnect();
  }
  if (!cost) throw new Error('bare BullMQ round was not measured');
  return cost;
}

async function bareBullMQ(redisUrl: string): Promise<number> {
  const total = VOLUMES * TICKS;
  const seconds = await bareBullMQSeconds(redisUrl, total, CONCURRENCY);
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
      pipelineRounds.push((await pipeline(redis.url, CONCURRENCY)).rate);
    }
    const bare = median(bareRounds);
    const snapshots = median(pipelineRounds);
    console.log(`medians of ${ROUNDS} rounds:`);
    console.log(`bare BullMQ no-op jobs/s:          ${bare.toFixed(0)}`);
    console.log(`end-to-end volume snapshots/s:     ${snapshots.toFixed(0)}`);
    console.log(
      `ratio (snapshots/s ÷ no-op jobs/s): ${(snapshots / bare).toFixed(2)} (target ≥ ${RATIO_TARGET})`,
    );
    const costs: Cost[] = [];
    const bareCosts: Cost[] = [];
    for (let round = 0; round < COST_ROUNDS; round++) {
      costs.push((await pipeline(redis.url, COST_CONCURRENCY)).cost);
      bareCosts.push(await bareBullMQCost(redis.url, COST_CONCURRENCY));
    }
    const cheapest = costs.sort((a, b) => cpuOf(a) - cpuOf(b))[0];
    const bareCheapest = bareCosts.sort((a, b) => cpuOf(a) - cpuOf(b))[0];
    if (cheapest) printCost(cheapest, VOLUMES * TICKS, COST_CONCURRENCY, COST_ROUNDS);
    if (cheapest && bareCheapest) {
      // Both sides of the ratio are mostly CPU of this process and Redis: on a busy machine the
      // ratio follows this one, which the machine's load moves far less.
      const perJob = cpuOf(bareCheapest) / (VOLUMES * TICKS);
      const perSnapshot = cpuOf(cheapest) / (VOLUMES * TICKS);
      const bareCommands = [...bareCheapest.commands.values()].reduce((a, b) => a + b, 0);
      console.log(
        `CPU ms per bare no-op job:         ${perJob.toFixed(3)} ` +
          `(÷ per snapshot: ${(perJob / perSnapshot).toFixed(2)}; ` +
          `Redis commands ${(bareCommands / (VOLUMES * TICKS)).toFixed(2)})`,
      );
    }
  } finally {
    await redis.stop();
  }
}

await main();
