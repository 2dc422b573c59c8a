/**
 * `npm run bench`, fleet scenario: BENCH_FLEET_POLICIES policies (default 1,000) of
 * BENCH_FLEET_VOLUMES volumes each (default 10) all firing on the same second, through the
 * app's real processes: the built app started as child processes with `SNAPWARDEN_ROLES`
 * (one scheduler process, then 1 and 2 worker processes; all roles in one process with
 * BENCH_FLEET_ALL_IN_ONE=1), memory driver seeded from `SNAPWARDEN_MEMORY_VOLUMES_FILE`,
 * one redis-server. Each layout fires the fleet BENCH_FLEET_TICKS times (default 5, as many as
 * the baseline's rounds),
 * BENCH_FLEET_SPACING_S seconds apart (default 12; all within one minute), and prints for each
 * tick p50, p99 and max tick → `snapshot.created` (from the audit log), the time until every
 * run finished (drain), the worker's RSS peak during the tick (`/proc/<pid>/status`), and CPU
 * per snapshot over every process including Redis (`/proc/<pid>/stat`, `INFO cpu`). The figures
 * held against their targets are those of the tick of median drain, as the baseline is the
 * median of its rounds: the drain's ratio to bare BullMQ's time for as many no-op jobs in the
 * layout's shape (the bench process adding them in bulks, as many worker processes as the layout
 * runs, kept up across rounds, with the same concurrency and NODE_OPTIONS; measured in the same
 * run), its CPU per snapshot; the RSS peak is the highest of every tick. A second worker process
 * must not make the drain slower, or, where bare BullMQ's own second process slows it on this
 * machine (fewer cores than busy processes), by no more than that: the drain of 2 ÷ the drain of
 * 1 is held against max(1, bare's 2 ÷ 1). The first tick of a freshly started worker runs its code
 * cold, as the baseline's first round does, and later ticks run warmer code, as later rounds do.
 * The measured ticks only create (their policies keep as many snapshots as there are ticks, at
 * most the provider's 7); the soak's policies keep 3, so that from its fourth tick on every tick
 * also rotates. With BENCH_FLEET_SOAK_S set (600 for a
 * 10-minute soak; off by default so that `npm run bench` stays short), a soak then fires the
 * fleet every BENCH_FLEET_PERIOD_S seconds (default 30) and prints worker RSS and Redis
 * `used_memory` before the first tick, after the first and after the last.
 *
 * BENCH_FLEET_NAMESPACES (default 1: the whole fleet in one namespace) spreads the policies
 * and their volumes over that many namespaces. BENCH_FLEET_WORKERS (default `1,2`) lists the
 * worker-process counts to measure. BENCH_FLEET_LEAD_S (default 20) is how far ahead of the
 * start the first measured tick is scheduled: every process must be up and every policy scheduled
 * by then. The worker processes run as the worker Deployment (deploy/kustomize/base/worker.yaml)
 * runs them: with its NODE_OPTIONS (`--max-semi-space-size=16`), and in a memory cgroup of its
 * pod's memory limit (512Mi) where the machine lets the bench create one (root, cgroup v1 or
 * v2), because Node sizes its heap from that limit as it does in the pod; elsewhere the bench
 * says so and the workers size their heap from the machine's memory.
 * BENCH_FLEET_WORKER_NODE_OPTIONS replaces the NODE_OPTIONS (empty for V8's defaults,
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile), BENCH_FLEET_WORKER_MEMORY_LIMIT the limit
 * (a quantity such as `1Gi`, or `none`); BENCH_FLEET_COMMANDSTATS=1
 * prints Redis commands by name and bytes in and out per snapshot during each tick, BENCH_FLEET_TIMELINE=1 how many runs
 * started and snapshots were created in each quarter second of it. BENCH_FLEET_BARE_ROUNDS (default 5) is
 * how many times the bare BullMQ baseline runs in each shape, the shapes taking turns; the ratio
 * divides by the median.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { parseAllDocuments } from 'yaml';
import { startTestRedis } from '../../test/support/redis-server.js';
import {
  bareBullMQSeconds,
  createMemoryCgroup,
  envNumber,
  startApp,
  startBareWorkers,
  stopApp,
  type AppProcess,
  type BareWorkers,
  type MemoryCgroup,
} from './bench-support.js';

const POLICIES = envNumber('BENCH_FLEET_POLICIES', 1000);
const VOLUMES = envNumber('BENCH_FLEET_VOLUMES', 10);
const NAMESPACES = envNumber('BENCH_FLEET_NAMESPACES', 1);
/** Worker-process counts to measure; empty (`BENCH_FLEET_WORKERS=`) for the soak alone. */
const WORKERS = (process.env.BENCH_FLEET_WORKERS ?? '1,2')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '')
  .map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`BENCH_FLEET_WORKERS lists worker-process counts (1,2), got '${s}'`);
    }
    return n;
  });
const ALL_IN_ONE = process.env.BENCH_FLEET_ALL_IN_ONE === '1';
const SOAK_S = envNumber('BENCH_FLEET_SOAK_S', 0, 0);
const PERIOD_S = envNumber('BENCH_FLEET_PERIOD_S', 30);
const LEAD_S = envNumber('BENCH_FLEET_LEAD_S', 20, 0);
/** Fleet ticks measured per layout, and the seconds between them (all within one minute). */
const TICKS = envNumber('BENCH_FLEET_TICKS', 5);
const SPACING_S = envNumber('BENCH_FLEET_SPACING_S', 12);
if (!Number.isInteger(TICKS) || !Number.isInteger(SPACING_S) || (TICKS - 1) * SPACING_S >= 60) {
  throw new Error(
    `BENCH_FLEET_TICKS (${TICKS}) ticks BENCH_FLEET_SPACING_S (${SPACING_S}) whole seconds apart ` +
      'must fit in one minute',
  );
}
/**
 * Retention of the measured layouts' policies: every measured tick only creates (rotation would
 * make later ticks do more work than earlier ones), within the provider's cap of 7 per disk.
 */
const MEASURED_KEEP_LAST = Math.min(7, Math.max(3, TICKS));
/** Retention of the soak's policies: from its fourth tick on, every tick also rotates. */
const SOAK_KEEP_LAST = 3;
const CONCURRENCY = envNumber('SNAPWARDEN_WORKER_CONCURRENCY', 8);
const TOTAL = POLICIES * VOLUMES;
const PREFIX = 'snapwarden';
const CLK_TCK = 100;
const COMMANDSTATS = process.env.BENCH_FLEET_COMMANDSTATS === '1';
const TIMELINE = process.env.BENCH_FLEET_TIMELINE === '1';
/** Rounds of the bare BullMQ baseline; the ratio divides by their median. */
const BARE_ROUNDS = envNumber('BENCH_FLEET_BARE_ROUNDS', 5);

function namespaceOf(policy: number): string {
  return `ns${policy % NAMESPACES}`;
}

function policyFile(i: number, schedule: string, keepLast: number): string {
  return `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: p${i}
  namespace: ${namespaceOf(i)}
spec:
  schedule: '${schedule}'
  timeZone: UTC
  selector:
    matchLabels:
      fleet: p${i}
  retention:
    keepLast: ${keepLast}
`;
}

function seedVolumes(): object[] {
  const volumes: object[] = [];
  for (let i = 0; i < POLICIES; i++) {
    for (let v = 0; v < VOLUMES; v++) {
      volumes.push({ namespace: namespaceOf(i), name: `p${i}-v${v}`, labels: { fleet: `p${i}` } });
    }
  }
  return volumes;
}

async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function redisInfo(redis: Redis, field: string, section: string): Promise<number> {
  const info = await redis.info(section);
  return Number(new RegExp(`${field}:([\\d.]+)`).exec(info)?.[1] ?? 0);
}

async function redisCpu(redis: Redis): Promise<number> {
  return (
    (await redisInfo(redis, 'used_cpu_user', 'cpu')) +
    (await redisInfo(redis, 'used_cpu_sys', 'cpu'))
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface AuditEntry {
  type: string;
  time: string;
  runId?: string;
}

/**
 * Follows the tick at `tickMs` until every run of it has finished, then collects from the audit
 * stream the time of each `snapshot.created` and `run.finished` of the tick. While the tick
 * drains the bench only reads the latest-run hash (one entry per policy) every 200 ms: reading
 * and parsing the tick's events as they arrive (about 50,000) cost the bench and Redis CPU that
 * the measured processes need on a 2-core machine. The stream is read once the tick drained
 * (a run's end is announced just after it ends, so the read goes on until every one is in).
 */
async function followTick(
  redis: Redis,
  tickMs: number,
  onSample: () => Promise<void>,
  deadlineMs: number,
): Promise<TickEvents> {
  const suffix = `_${tickMs}`;
  const pastDeadline = (what: string) => {
    if (Date.now() > deadlineMs) throw new Error(`tick not drained in time: ${what}`);
  };
  for (;;) {
    await onSample();
    const latest = await redis.hvals(`${PREFIX}:runs:latest`);
    const finished = latest.filter((member) => member.endsWith(suffix)).length;
    if (finished >= POLICIES) break;
    pastDeadline(`${finished} of ${POLICIES} runs finished`);
    await sleep(200);
  }
  return tickEvents(redis, tickMs, pastDeadline);
}

/** What the bench takes from a tick's events: milliseconds after the tick, and counts. */
interface TickEvents {
  created: number[];
  started: number[];
  failed: number;
  finished: number;
  finishedAt: number;
}

/** Adds one audit event of the tick to `into`. */
function countEvent(into: TickEvents, event: AuditEntry, tickMs: number): void {
  const at = Date.parse(event.time);
  if (event.type === 'snapshot.created') into.created.push(at - tickMs);
  else if (event.type === 'run.started') into.started.push(at - tickMs);
  else if (event.type === 'snapshot.failed') into.failed++;
  else if (event.type === 'run.finished') {
    into.finished++;
    into.finishedAt = Math.max(into.finishedAt, at);
  }
}

/** The tick's events from the audit stream, read on until every run's end is announced. */
async function tickEvents(
  redis: Redis,
  tickMs: number,
  pastDeadline: (what: string) => void,
): Promise<TickEvents> {
  const suffix = `_${tickMs}`;
  const events: TickEvents = { created: [], started: [], failed: 0, finished: 0, finishedAt: 0 };
  let cursor = String(tickMs - 1000);
  while (events.finished < POLICIES) {
    const entries = (await redis.xrange(`${PREFIX}:audit`, cursor, '+', 'COUNT', 5000)) as [
      string,
      string[],
    ][];
    for (const [id, fields] of entries) {
      cursor = `(${id}`;
      const json = fields[fields.indexOf('e') + 1];
      const event = json ? (JSON.parse(json) as AuditEntry) : undefined;
      if (event?.runId?.endsWith(suffix)) countEvent(events, event, tickMs);
    }
    if (entries.length < 5000 && events.finished < POLICIES) {
      pastDeadline(`${events.finished} of ${POLICIES} run.finished events in the audit log`);
      await sleep(100);
    }
  }
  return events;
}

/** Runs started and snapshots created in each quarter second after the tick (BENCH_FLEET_TIMELINE=1). */
function printTimeline(f: TickFigures): void {
  const buckets = (ms: number[]) => {
    const counts: number[] = [];
    for (const at of ms) {
      const i = Math.max(0, Math.floor(at / 250));
      counts[i] = (counts[i] ?? 0) + 1;
    }
    return counts;
  };
  const started = buckets(f.started);
  const created = buckets(f.created);
  console.log('    quarter second: runs started / snapshots created');
  for (let i = 0; i < Math.max(started.length, created.length); i++) {
    const at = `${((i * 250) / 1000).toFixed(2)} s`.padStart(8);
    console.log(
      `    ${at} ${String(started[i] ?? 0).padStart(6)} ${String(created[i] ?? 0).padStart(6)}`,
    );
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function line(what: string, value: string, target: string): void {
  console.log(`  ${what.padEnd(42)} ${value.padStart(12)}   (target ${target})`);
}

function load(): string {
  return `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

interface Layout {
  name: string;
  /** Short name for the figures held against targets, which the run's summary lists alone. */
  tag: string;
  workers: number;
  allInOne: boolean;
  /** The policies' `retention.keepLast`. */
  keepLast: number;
}

/** What a layout started, stopped by {@link stopFleet} whether or not the start completed. */
interface Fleet {
  apps: AppProcess[];
  workers: AppProcess[];
  cgroups: MemoryCgroup[];
}

/**
 * Writes the policy folder and the volume seed, and starts the app's processes into `fleet`.
 * Each worker process runs as the worker Deployment runs it: with its NODE_OPTIONS and, where
 * this machine lets the bench create cgroups, in a memory cgroup of the pod's limit.
 */
async function startFleet(
  dir: string,
  redisUrl: string,
  layout: Layout,
  schedule: string,
  fleet: Fleet,
): Promise<void> {
  const policies = join(dir, 'policies');
  await mkdir(policies, { recursive: true });
  for (let i = 0; i < POLICIES; i++)
    await writeFile(join(policies, `p${i}.yaml`), policyFile(i, schedule, layout.keepLast));
  const seed = join(dir, 'volumes.json');
  await writeFile(seed, JSON.stringify(seedVolumes()));
  const env = (roles: string, n: number) => ({
    SNAPWARDEN_ROLES: roles,
    SNAPWARDEN_DATA_DIR: join(dir, `data${n}`),
    SNAPWARDEN_POLICY_DIR: policies,
    SNAPWARDEN_DRIVER: 'memory',
    SNAPWARDEN_MEMORY_VOLUMES_FILE: seed,
    SNAPWARDEN_WORKER_CONCURRENCY: String(CONCURRENCY),
    // Ten ticks of the fleet: the bench reads each tick's events back from the stream.
    SNAPWARDEN_AUDIT_MAX_EVENTS: String(Math.max(100_000, TOTAL * 10)),
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'warn',
  });
  if (layout.allInOne) {
    const app = await startApp(env('scheduler,worker,api', 0));
    fleet.apps.push(app);
    fleet.workers.push(app);
    return;
  }
  fleet.apps.push(await startApp(env('scheduler', 0)));
  for (let n = 1; n <= layout.workers; n++) {
    const cgroup = await workerCgroup(n);
    if (cgroup) fleet.cgroups.push(cgroup);
    const worker = await startApp({ ...env('worker', n), ...workerNodeOptions() }, { cgroup });
    fleet.apps.push(worker);
    fleet.workers.push(worker);
  }
}

/** Stops what {@link startFleet} started and removes the workers' cgroups. */
async function stopFleet(fleet: Fleet): Promise<void> {
  for (const app of fleet.apps) await stopApp(app);
  for (const cgroup of fleet.cgroups) await cgroup.remove();
}

/** The worker Deployment's NODE_OPTIONS and memory limit (deploy/kustomize/base/worker.yaml). */
function deployedWorker(): { nodeOptions: string; memoryLimit: string } {
  const file = fileURLToPath(
    new URL('../../../deploy/kustomize/base/worker.yaml', import.meta.url),
  );
  // The file holds the Deployment and the resources beside it.
  const deployment = parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as { kind?: string })
    .find((doc) => doc.kind === 'Deployment') as {
    spec: {
      template: {
        spec: {
          containers: {
            env?: { name: string; value?: string }[];
            resources?: { limits?: { memory?: string } };
          }[];
        };
      };
    };
  };
  const container = deployment.spec.template.spec.containers[0];
  const nodeOptions = container?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
  const memoryLimit = container?.resources?.limits?.memory;
  if (nodeOptions === undefined || memoryLimit === undefined) {
    throw new Error(`${file}: the worker container has no NODE_OPTIONS or no memory limit`);
  }
  return { nodeOptions, memoryLimit };
}

/** Bytes of a Kubernetes memory quantity (`512Mi`, `1G`, `268435456`) read from `source`. */
function quantityBytes(quantity: string, source: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity.trim());
  if (!match) {
    throw new Error(`${source} must be a memory quantity (512Mi, 1Gi) or none, got '${quantity}'`);
  }
  const units = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  const unit = match[2] ? units[match[2] as keyof typeof units] : 1;
  return Math.round(Number(match[1]) * unit);
}

const DEPLOYED_WORKER = deployedWorker();
const WORKER_NODE_OPTIONS =
  process.env.BENCH_FLEET_WORKER_NODE_OPTIONS ?? DEPLOYED_WORKER.nodeOptions;
/** The worker pod's memory limit; BENCH_FLEET_WORKER_MEMORY_LIMIT replaces it (`none`: no limit). */
const WORKER_MEMORY_LIMIT =
  process.env.BENCH_FLEET_WORKER_MEMORY_LIMIT ?? DEPLOYED_WORKER.memoryLimit;
const WORKER_MEMORY_LIMIT_BYTES =
  WORKER_MEMORY_LIMIT === 'none'
    ? undefined
    : quantityBytes(
        WORKER_MEMORY_LIMIT,
        process.env.BENCH_FLEET_WORKER_MEMORY_LIMIT === undefined
          ? 'resources.limits.memory of the worker in deploy/kustomize/base/worker.yaml'
          : 'BENCH_FLEET_WORKER_MEMORY_LIMIT',
      );
/** Why the workers run without the pod's memory limit, once creating a cgroup failed. */
let cgroupRefused: string | undefined;

/** The worker processes' NODE_OPTIONS: the deployed ones, or BENCH_FLEET_WORKER_NODE_OPTIONS. */
function workerNodeOptions(): Record<string, string> {
  return WORKER_NODE_OPTIONS ? { NODE_OPTIONS: WORKER_NODE_OPTIONS } : {};
}

/** A memory cgroup of the pod's limit for worker `n`, or undefined (said once, with why). */
async function workerCgroup(n: number): Promise<MemoryCgroup | undefined> {
  if (WORKER_MEMORY_LIMIT_BYTES === undefined || cgroupRefused !== undefined) return undefined;
  const cgroup = await createMemoryCgroup(`snapwarden-bench-worker${n}`, WORKER_MEMORY_LIMIT_BYTES);
  if ('path' in cgroup) return cgroup;
  cgroupRefused = cgroup.reason;
  console.log(
    `  !! worker processes run without the pod's ${WORKER_MEMORY_LIMIT} memory limit ` +
      `(${cgroup.reason}): Node then sizes its heap from the whole machine's memory, so the ` +
      'RSS figures are higher than in the pod',
  );
  return undefined;
}

async function waitForSchedulers(redis: Redis, untilMs: number): Promise<void> {
  while ((await redis.zcard(`${PREFIX}:ticks:repeat`)) < POLICIES) {
    if (Date.now() > untilMs) {
      throw new Error(`not every policy was scheduled before the tick: raise BENCH_FLEET_LEAD_S`);
    }
    await sleep(100);
  }
}

interface TickFigures {
  created: number[];
  /** Tick → `run.started` of each run, milliseconds. */
  started: number[];
  failed: number;
  drainS: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  /** CPU per snapshot created, milliseconds: Redis, worker processes, the others. */
  cpuMs: { redis: number; workers: number; others: number };
}

/**
 * Redis commands (most frequent first) and bytes in and out per snapshot created
 * (BENCH_FLEET_COMMANDSTATS=1).
 */
async function printCommandStats(redis: Redis, snapshots: number): Promise<void> {
  const info = await redis.info('commandstats');
  const rows = [...info.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)]
    .map(([, name, calls, usec]) => ({ name, calls: Number(calls), usec: Number(usec) }))
    .sort((a, b) => b.calls - a.calls);
  const per = (n: number) => (n / Math.max(1, snapshots)).toFixed(2);
  const stats = await redis.info('stats');
  const stat = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(stats)?.[1] ?? 0);
  console.log(
    `  per snapshot: ${per(stat('total_commands_processed'))} commands from clients, ` +
      `${per(stat('total_net_input_bytes'))} bytes in, ${per(stat('total_net_output_bytes'))} bytes out`,
  );
  console.log('  Redis commands per snapshot (calls, µs):');
  for (const row of rows.slice(0, 15)) {
    console.log(
      `    ${String(row.name).padEnd(20)} ${per(row.calls).padStart(7)} ${per(row.usec).padStart(8)}`,
    );
  }
}

/** CPU seconds so far of Redis, the worker processes and the other processes. */
async function cpuSplit(redis: Redis, apps: AppProcess[], workers: AppProcess[]) {
  const split = { redis: await redisCpu(redis), workers: 0, others: 0 };
  for (const app of apps) {
    const seconds = await cpuSeconds(app.pid);
    if (workers.includes(app)) split.workers += seconds;
    else split.others += seconds;
  }
  return split;
}

/** Follows the tick at `tickMs`: latencies, drain, worker RSS peak, CPU of every process. */
async function measureTick(
  redis: Redis,
  apps: AppProcess[],
  workers: AppProcess[],
  tickMs: number,
): Promise<TickFigures> {
  while (Date.now() < tickMs) await sleep(Math.min(200, tickMs - Date.now()));
  let rssBeforeMb = 0;
  for (const worker of workers) rssBeforeMb = Math.max(rssBeforeMb, await rssMb(worker.pid));
  const before = await cpuSplit(redis, apps, workers);
  if (COMMANDSTATS) await redis.config('RESETSTAT');
  let rssPeakMb = 0;
  const sample = async () => {
    for (const worker of workers) rssPeakMb = Math.max(rssPeakMb, await rssMb(worker.pid));
  };
  const result = await followTick(redis, tickMs, sample, Date.now() + 600_000);
  const after = await cpuSplit(redis, apps, workers);
  if (COMMANDSTATS) await printCommandStats(redis, result.created.length);
  const perSnapshotMs = (seconds: number) => (seconds * 1000) / Math.max(1, result.created.length);
  return {
    created: result.created.sort((a, b) => a - b),
    started: result.started.sort((a, b) => a - b),
    failed: result.failed,
    drainS: (result.finishedAt - tickMs) / 1000,
    rssBeforeMb,
    rssPeakMb,
    cpuMs: {
      redis: perSnapshotMs(after.redis - before.redis),
      workers: perSnapshotMs(after.workers - before.workers),
      others: perSnapshotMs(after.others - before.others),
    },
  };
}

/**
 * The measured ticks of a layout: TICKS seconds SPACING_S apart, the first at least LEAD_S
 * from now, all in one minute so that one daily six-field cron fires exactly them.
 */
function measuredTicks(): { ticks: number[]; schedule: string } {
  let first = Math.ceil((Date.now() + LEAD_S * 1000) / 1000) * 1000;
  const spanMs = (TICKS - 1) * SPACING_S * 1000;
  if ((first % 60_000) + spanMs >= 60_000) first = Math.ceil(first / 60_000) * 60_000;
  const ticks = Array.from({ length: TICKS }, (_, i) => first + i * SPACING_S * 1000);
  const at = new Date(first);
  const seconds = ticks.map((t) => new Date(t).getUTCSeconds()).join(',');
  return { ticks, schedule: `${seconds} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *` };
}

/** The tick of median drain (the earlier one of the middle two for an even count). */
function medianTick(ticks: TickFigures[]): TickFigures {
  const sorted = [...ticks].sort((a, b) => a.drainS - b.drainS);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function cpuTotal(f: TickFigures): number {
  return f.cpuMs.redis + f.cpuMs.workers + f.cpuMs.others;
}

/** Runs a layout's measured ticks and prints them; returns the tick of median drain's drain. */
async function runLayout(layout: Layout, bareS: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'snapwarden-fleet-'));
  const redisServer = await startTestRedis();
  const redis = new Redis(redisServer.url);
  const fleet: Fleet = { apps: [], workers: [], cgroups: [] };
  try {
    const { ticks, schedule } = measuredTicks();
    await startFleet(dir, redisServer.url, layout, schedule, fleet);
    await waitForSchedulers(redis, ticks[0]! - 1000);
    const measured: TickFigures[] = [];
    for (const tickMs of ticks) {
      measured.push(await measureTick(redis, fleet.apps, fleet.workers, tickMs));
    }
    console.log(`${layout.name} (${load()}):`);
    measured.forEach((f, i) => {
      if (f.created.length !== TOTAL || f.failed > 0) {
        console.log(
          `  !! tick ${i + 1}: ${f.created.length} of ${TOTAL} created, ${f.failed} failed`,
        );
      }
      const s = (ms: number | undefined) => ((ms ?? NaN) / 1000).toFixed(2);
      console.log(
        `  tick ${i + 1}: tick → created p50 ${s(percentile(f.created, 50))} s, ` +
          `p99 ${s(percentile(f.created, 99))} s, max ${s(f.created.at(-1))} s; ` +
          `drain ${f.drainS.toFixed(2)} s (${(f.drainS / bareS).toFixed(2)}×); ` +
          `CPU ${cpuTotal(f).toFixed(2)} ms per snapshot; worker RSS peak ${f.rssPeakMb.toFixed(0)} MB` +
          (i > 0 && measured[i - 1]!.drainS > SPACING_S ? ' (overlapped the tick before)' : ''),
      );
      if (TIMELINE) printTimeline(f);
    });
    // As the baseline is the median of its rounds, the ratio takes the median of the ticks.
    const f = medianTick(measured);
    console.log(`  the tick of median drain of ${measured.length}:`);
    line('tick → created p50', `${(percentile(f.created, 50) / 1000).toFixed(2)} s`, '-');
    line('tick → created p99', `${(percentile(f.created, 99) / 1000).toFixed(2)} s`, '-');
    line('tick → created max', `${((f.created.at(-1) ?? NaN) / 1000).toFixed(2)} s`, '-');
    line('tick → every run finished (drain)', `${f.drainS.toFixed(2)} s`, '-');
    line(`${layout.tag}: drain ÷ bare BullMQ`, `${(f.drainS / bareS).toFixed(2)}×`, '≤ 3×');
    line('worker RSS before the first tick', `${measured[0]!.rssBeforeMb.toFixed(0)} MB`, '-');
    const peak = Math.max(...measured.map((t) => t.rssPeakMb));
    line(`${layout.tag}: worker RSS peak, any tick`, `${peak.toFixed(0)} MB`, '≤ 250 MB');
    const { redis: r, workers: w, others: o } = f.cpuMs;
    line(`${layout.tag}: CPU per snapshot, all + Redis`, `${(r + w + o).toFixed(2)} ms`, '≤ 1 ms');
    console.log(
      `    (Redis ${r.toFixed(2)} ms, workers ${w.toFixed(2)} ms, others ${o.toFixed(2)} ms)`,
    );
    return f.drainS;
  } finally {
    await stopFleet(fleet);
    redis.disconnect();
    await redisServer.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The fleet firing every PERIOD_S seconds for SOAK_S: memory after the first and last tick. */
async function soak(): Promise<void> {
  if (SOAK_S <= 0) return;
  const dir = await mkdtemp(join(tmpdir(), 'snapwarden-fleet-soak-'));
  const redisServer = await startTestRedis();
  const redis = new Redis(redisServer.url);
  const fleet: Fleet = { apps: [], workers: [], cgroups: [] };
  try {
    const layout = {
      name: 'soak',
      tag: 'soak',
      workers: 1,
      allInOne: false,
      keepLast: SOAK_KEEP_LAST,
    };
    await startFleet(dir, redisServer.url, layout, `*/${PERIOD_S} * * * * *`, fleet);
    const worker = fleet.workers[0]!;
    await waitForSchedulers(redis, Date.now() + 60_000);
    const start = {
      rss: await rssMb(worker.pid),
      used: await redisInfo(redis, 'used_memory', 'memory'),
    };
    // The first tick every policy saw from its start (one period after loading).
    let tickMs = Math.ceil((Date.now() + 1000) / (PERIOD_S * 1000)) * PERIOD_S * 1000;
    const ended = Date.now() + SOAK_S * 1000;
    let first: { rss: number; used: number } | undefined;
    let last = first;
    let ticks = 0;
    let worstDrain = 0;
    let worstPeak = 0;
    const series: { rss: number; used: number }[] = [];
    while (tickMs <= ended || ticks < 2) {
      const f = await measureTick(redis, fleet.apps, fleet.workers, tickMs);
      ticks++;
      worstDrain = Math.max(worstDrain, f.drainS);
      worstPeak = Math.max(worstPeak, f.rssPeakMb);
      last = {
        rss: await rssMb(worker.pid),
        used: await redisInfo(redis, 'used_memory', 'memory'),
      };
      first ??= last;
      series.push(last);
      tickMs += PERIOD_S * 1000;
      while (tickMs < Date.now()) tickMs += PERIOD_S * 1000;
    }
    console.log(
      `soak: ${ticks} fleet ticks every ${PERIOD_S} s over ${SOAK_S} s, one worker process (${load()}):`,
    );
    line('worst drain', `${worstDrain.toFixed(2)} s`, `< ${PERIOD_S} s`);
    line('worker RSS before the first tick', `${start.rss.toFixed(0)} MB`, '-');
    line('worker RSS after the first tick', `${first!.rss.toFixed(0)} MB`, '≤ 250 MB');
    line('worker RSS after the last tick', `${last!.rss.toFixed(0)} MB`, 'no growth');
    line('worker RSS peak during any tick', `${worstPeak.toFixed(0)} MB`, '≤ 250 MB');
    line('Redis used_memory before the first tick', `${(start.used / 2 ** 20).toFixed(0)} MB`, '-');
    line('Redis used_memory after the first tick', `${(first!.used / 2 ** 20).toFixed(0)} MB`, '-');
    line(
      'Redis used_memory after the last tick',
      `${(last!.used / 2 ** 20).toFixed(0)} MB`,
      'no growth',
    );
    // Redis keeps bounded histories (completed jobs, audit events, runs) that fill over the
    // first ticks: the series shows whether memory levels off once they are full.
    console.log(
      `    worker RSS after each tick, MB: ${series.map((p) => p.rss.toFixed(0)).join(' ')}`,
    );
    console.log(
      `    Redis used_memory after each tick, MB: ${series.map((p) => (p.used / 2 ** 20).toFixed(0)).join(' ')}`,
    );
  } finally {
    await stopFleet(fleet);
    redis.disconnect();
    await redisServer.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The baseline a layout is held against: bare BullMQ in the layout's shape, this process adding
 * the jobs and as many worker processes as the layout runs, with the NODE_OPTIONS the app's
 * workers run with; all roles in one process against one process that adds and works.
 */
function bareShape(layout: Layout): string {
  return layout.allInOne ? 'in one process' : `${layout.workers} worker process(es)`;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
}

async function main() {
  console.log(
    `fleet: ${POLICIES} policies × ${VOLUMES} volumes in ${NAMESPACES} namespace(s), all firing on ` +
      `the same second, memory driver, worker concurrency ${CONCURRENCY}, worker NODE_OPTIONS ` +
      `'${WORKER_NODE_OPTIONS}', worker memory limit ${WORKER_MEMORY_LIMIT}`,
  );
  const layouts: Layout[] = WORKERS.map((n) => ({
    name: `scheduler process + ${n} worker process${n > 1 ? 'es' : ''}`,
    tag: `${n} worker${n > 1 ? 's' : ''}`,
    workers: n,
    allInOne: false,
    keepLast: MEASURED_KEEP_LAST,
  }));
  if (ALL_IN_ONE)
    layouts.push({
      name: 'all roles in one process',
      tag: 'all in one',
      workers: 1,
      allInOne: true,
      keepLast: MEASURED_KEEP_LAST,
    });
  // The baseline swings from run to run on a shared machine (1.6–10 s for the same jobs have
  // been seen): each layout's ratio divides by the median of several rounds in its shape, the
  // shapes taking turns round by round so that a slow minute does not fall on one of them.
  const rounds = new Map<string, number[]>(layouts.map((l) => [bareShape(l), []]));
  const bareRedis = await startTestRedis();
  const started = new Map<string, BareWorkers>();
  try {
    for (const layout of layouts) {
      if (layout.allInOne || started.has(bareShape(layout))) continue;
      started.set(
        bareShape(layout),
        await startBareWorkers(bareRedis.url, CONCURRENCY, layout.workers, workerNodeOptions()),
      );
    }
    for (let i = 0; i < BARE_ROUNDS; i++) {
      for (const [shape, seconds] of rounds) {
        const workers = started.get(shape);
        seconds.push(
          workers
            ? await workers.round(TOTAL)
            : await bareBullMQSeconds(bareRedis.url, TOTAL, CONCURRENCY),
        );
      }
    }
  } finally {
    for (const workers of started.values()) await workers.close();
    await bareRedis.stop();
  }
  const bare = new Map([...rounds].map(([shape, r]) => [shape, median(r)]));
  for (const [shape, r] of rounds) {
    console.log(
      `bare BullMQ, ${shape}: ${TOTAL} no-op jobs in ${bare.get(shape)!.toFixed(2)} s, the ` +
        `median of ${r.map((x) => x.toFixed(2)).join(', ')} s`,
    );
  }
  console.log(`  (${load()})`);
  const drains = new Map<Layout, number>();
  for (const layout of layouts) {
    drains.set(layout, await runLayout(layout, bare.get(bareShape(layout))!));
  }
  printSecondWorker(layouts, drains, bare);
  await soak();
}

/**
 * What more worker processes do to the drain, against what they do to bare BullMQ's on this
 * machine in the same run. On a machine with fewer cores than busy processes (two cores: the
 * scheduler, Redis and two workers) a second process cannot add CPU, only the cost of taking
 * turns, and bare BullMQ slows with it too; the target is that ours slows no more than that.
 */
function printSecondWorker(
  layouts: Layout[],
  drains: Map<Layout, number>,
  bare: Map<string, number>,
): void {
  const one = layouts.find((l) => !l.allInOne && l.workers === 1);
  if (!one) return;
  for (const layout of layouts) {
    if (layout.allInOne || layout.workers === 1) continue;
    const ours = drains.get(layout)! / drains.get(one)!;
    const theirs = bare.get(bareShape(layout))! / bare.get(bareShape(one))!;
    console.log(`${layout.workers} worker processes against 1 (tick of median drain):`);
    line(
      `drain, ${layout.workers} ÷ 1 worker processes`,
      `${ours.toFixed(3)}×`,
      `≤ ${Math.max(1, theirs).toFixed(3)}×; bare BullMQ's ${layout.workers} ÷ 1: ${theirs.toFixed(3)}×`,
    );
  }
}

await main();
