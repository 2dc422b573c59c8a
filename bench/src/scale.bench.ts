/**
 * `npm run bench`, scale scenario: the app started as `npm start` starts it (local mode, memory
 * driver, all roles in one process, its own redis-server) over a folder of N policy files.
 * Prints the time until `/healthz` answers 200, the time until every policy has its BullMQ job
 * scheduler in Redis, the app's CPU over an idle window (no policy fires; the periodic resync
 * runs), and its RSS after loading and after the idle window, each with its target.
 *
 * The defaults measure the targets' figures (about three minutes): BENCH_SCALE_POLICIES
 * (default 10000), BENCH_SCALE_IDLE_S (idle window, default 120), BENCH_SCALE_SETTLE_S (seconds
 * between the end of the first pass and the idle window, default 10, so that the window shows
 * the steady state), BENCH_SCALE_RESYNC (resync interval, default 60s, the app's default; 15s
 * for a harsher idle). "After loading" is once `/readyz` says ready: the first pass is over.
 * Quick look: BENCH_SCALE_POLICIES=2000 BENCH_SCALE_IDLE_S=30.
 */
import { readFile, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startTestRedis } from '../../test/support/redis-server.js';
import { envNumber, startApp, stopApp, type AppProcess } from './bench-support.js';

const POLICIES = envNumber('BENCH_SCALE_POLICIES', 10_000);
const IDLE_S = envNumber('BENCH_SCALE_IDLE_S', 120);
const SETTLE_S = envNumber('BENCH_SCALE_SETTLE_S', 10, 0);
const RESYNC = process.env.BENCH_SCALE_RESYNC ?? '60s';
const PREFIX = 'snapwarden';
/** Clock ticks per second of /proc/<pid>/stat on Linux. */
const CLK_TCK = 100;

/** Daily, twelve hours from now: nothing fires during the run. */
const SCHEDULE = `0 ${(new Date().getUTCHours() + 12) % 24} * * *`;

function policyFile(i: number): string {
  return `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: p${i}
  namespace: ns${i % 50}
spec:
  schedule: '${SCHEDULE}'
  timeZone: UTC
  selector:
    matchLabels:
      app: a${i}
  retention:
    keepLast: 3
`;
}

/** User + system CPU seconds of a process. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const read = (field: string) => Number(new RegExp(`${field}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return read('used_cpu_user') + read('used_cpu_sys');
}

async function waitForSchedulers(redis: Redis, deadlineMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    if ((await redis.zcard(`${PREFIX}:ticks:repeat`)) >= POLICIES) return started;
    if (performance.now() - started > deadlineMs) {
      throw new Error(`not every policy was scheduled within ${deadlineMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once `/readyz` answers 200: the first policy pass is over. */
async function waitForReady(port: number, deadlineMs: number): Promise<void> {
  const started = performance.now();
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    if (performance.now() - started > deadlineMs) throw new Error('the app never became ready');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function line(what: string, value: string, target: string): void {
  console.log(`${what.padEnd(44)} ${value.padStart(12)}   (target ${target})`);
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'snapwarden-scale-'));
  const policies = join(dir, 'policies');
  await mkdir(policies);
  for (let i = 0; i < POLICIES; i++) await writeFile(join(policies, `p${i}.yaml`), policyFile(i));
  const redisServer = await startTestRedis();
  const redis = new Redis(redisServer.url);
  let app: AppProcess | undefined;
  try {
    console.log(
      `scale: ${POLICIES} policy files, memory driver, all roles in one process, ` +
        `resync every ${RESYNC}, idle window ${IDLE_S} s from ${SETTLE_S} s after ready`,
    );
    const started = performance.now();
    app = await startApp({
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: policies,
      SNAPWARDEN_DRIVER: 'memory',
      SNAPWARDEN_RESYNC_INTERVAL: RESYNC,
      REDIS_URL: redisServer.url,
      LOG_LEVEL: 'warn',
    });
    const healthz = (performance.now() - started) / 1000;
    await waitForSchedulers(redis, 600_000);
    const scheduled = (performance.now() - started) / 1000;
    const pid = app.child.pid!;
    await waitForReady(app.port, 600_000);
    const rssLoaded = await rssMb(pid);
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
    const cpuBefore = await cpuSeconds(pid);
    const redisBefore = await redisCpuSeconds(redis);
    const idleStarted = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const window = (performance.now() - idleStarted) / 1000;
    const idleCpu = ((await cpuSeconds(pid)) - cpuBefore) / window;
    const redisIdleCpu = ((await redisCpuSeconds(redis)) - redisBefore) / window;
    const rssIdle = await rssMb(pid);

    line('start → /healthz 200', `${healthz.toFixed(2)} s`, '≤ 3 s at 10,000');
    line(
      `start → ${POLICIES} job schedulers in Redis`,
      `${scheduled.toFixed(2)} s`,
      '≤ 10 s at 10,000',
    );
    line(
      `app CPU idle over ${window.toFixed(0)} s`,
      `${(idleCpu * 100).toFixed(2)} %`,
      '< 1 % of a core',
    );
    line(`redis CPU idle over ${window.toFixed(0)} s`, `${(redisIdleCpu * 100).toFixed(2)} %`, '-');
    line('app RSS after loading', `${rssLoaded.toFixed(0)} MB`, '≤ 250 MB');
    line('app RSS after the idle window', `${rssIdle.toFixed(0)} MB`, '≤ 250 MB');
  } finally {
    if (app) await stopApp(app);
    redis.disconnect();
    await redisServer.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
