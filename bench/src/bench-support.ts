/** What several benchmark scenarios share: the bare BullMQ baseline and the app as a process. */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort } from '../../test/support/redis-server.js';

/** The built entry point, as `npm start` runs it (benches run from dist/bench/src). */
const MAIN = fileURLToPath(new URL('../../apps/main/src/main.js', import.meta.url));

/**
 * Seconds bare BullMQ takes to run `total` no-op jobs, added in bulks of 1,000 and run by one
 * worker of `concurrency`, on a prefix of its own that is removed afterwards. `measure`, if
 * given, is started right before the first add and stopped once the last job has completed.
 */
export async function bareBullMQSeconds(
  redisUrl: string,
  total: number,
  concurrency: number,
  measure?: () => Promise<() => Promise<void>>,
): Promise<number> {
  const prefix = `bare${Date.now()}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection, prefix });
  let done = 0;
  let resolveAll: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (resolveAll = resolve));
  const worker = new Worker('noop', () => Promise.resolve(undefined), {
    connection: workerConnection,
    prefix,
    concurrency,
  });
  worker.on('completed', () => {
    if (++done === total) resolveAll();
  });
  const stopMeasure = await measure?.();
  const started = performance.now();
  await addNoopJobs(queue, total);
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await stopMeasure?.();
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  workerConnection.disconnect();
  return seconds;
}

/** Adds `total` no-op jobs in bulks of 1,000, as every bare round does. */
async function addNoopJobs(queue: Queue, total: number): Promise<void> {
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
}

const BARE_WORKER = fileURLToPath(new URL('./bare-worker.js', import.meta.url));

/** Bare BullMQ worker processes kept running across rounds: see {@link startBareWorkers}. */
export interface BareWorkers {
  /** Seconds from the first add until Redis counts `total` more no-op jobs completed. */
  round(total: number): Promise<number>;
  /** Stops the worker processes and removes the queue. */
  close(): Promise<void>;
}

/**
 * `processes` bare BullMQ worker processes of `concurrency` each ({@link BARE_WORKER}, started
 * with `env` added to this process's environment, e.g. the NODE_OPTIONS the app's workers run
 * with), on a prefix of their own: the shape of the app's layouts, a scheduler process adding
 * the jobs (this one, in bulks of 1,000) and worker processes running them. The processes stay
 * up from round to round, so that later rounds run warm code as the app's later ticks do. A
 * round's clock runs from its first add until every job has completed (read every 10 ms);
 * completed jobs are removed between rounds, off the clock.
 */
export async function startBareWorkers(
  redisUrl: string,
  concurrency: number,
  processes: number,
  env: Record<string, string> = {},
): Promise<BareWorkers> {
  const prefix = `bare${Date.now()}x${processes}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection, prefix });
  const children: ChildProcess[] = [];
  const close = async () => {
    for (const child of children) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.send('stop');
      await exited;
    }
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  };
  try {
    for (let i = 0; i < processes; i++) {
      const child = fork(BARE_WORKER, [redisUrl, prefix, String(concurrency)], {
        env: { ...process.env, ...env },
      });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`bare worker exited with ${code}`)));
      });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    async round(total: number): Promise<number> {
      await queue.clean(0, 0, 'completed');
      const started = performance.now();
      await addNoopJobs(queue, total);
      while ((await queue.getCompletedCount()) < total) {
        await new Promise((r) => setTimeout(r, 10));
      }
      return (performance.now() - started) / 1000;
    },
    close,
  };
}

/**
 * A numeric knob from the environment: `fallback` when unset or empty; otherwise it must be a
 * finite number of at least `min`, or the bench stops with an error naming the variable (a
 * typo would otherwise run the scenario on NaN and print NaN figures).
 */
export function envNumber(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`${name} must be a number of at least ${min}, got '${raw}'`);
  }
  return value;
}

/** The built app as a child process, started by {@link startApp}. */
export interface AppProcess {
  child: ChildProcess;
  pid: number;
  port: number;
}

/**
 * A memory cgroup with a limit, as a container's `resources.limits.memory` gives its process:
 * Node sizes its heap from that limit (`process.constrainedMemory()`), so a process started in
 * it runs as it would in the pod.
 */
export interface MemoryCgroup {
  /** The cgroup's directory; a process joins it by writing its pid to `cgroup.procs`. */
  path: string;
  /** Removes the cgroup once every process in it has exited. */
  remove(): Promise<void>;
}

/**
 * Where a memory limit can be set: under this process's own cgroup (so that the limits above it
 * still count) in cgroup v2's unified tree or in cgroup v1's memory tree. `line` picks this
 * process's entry in `/proc/self/cgroup`.
 */
const CGROUP_LAYOUTS = [
  { root: '/sys/fs/cgroup', line: /^0::(.*)$/m, limit: 'memory.max' },
  { root: '/sys/fs/cgroup/memory', line: /^\d+:memory:(.*)$/m, limit: 'memory.limit_in_bytes' },
] as const;

/**
 * Creates a memory cgroup limited to `limitBytes` (cgroup v2, or v1's memory controller), or
 * says why it cannot (not root, no writable cgroup filesystem, no memory controller).
 */
export async function createMemoryCgroup(
  name: string,
  limitBytes: number,
): Promise<MemoryCgroup | { reason: string }> {
  const own = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  const reasons: string[] = [];
  for (const layout of CGROUP_LAYOUTS) {
    const parent = layout.line.exec(own)?.[1];
    if (parent === undefined) continue;
    const path = join(layout.root, parent, `${name}-${process.pid}`);
    try {
      await mkdir(path);
      // Without the memory controller (v2 not handing it down) the limit file is missing.
      await writeFile(join(path, layout.limit), String(limitBytes), { flag: 'r+' });
      return { path, remove: () => rmdir(path).catch(() => undefined) };
    } catch (error) {
      await rmdir(path).catch(() => undefined);
      reasons.push(`${path}: ${(error as Error).message}`);
    }
  }
  return { reason: reasons.join('; ') || 'no cgroup filesystem with a memory controller' };
}

/**
 * Starts the built app with `env` and resolves once its `/healthz` answers 200. With `cgroup`,
 * the process joins it before Node starts (a shell writes its own pid, then execs Node under
 * the same pid), so that Node sizes its heap from the cgroup's limit.
 */
export async function startApp(
  env: Record<string, string>,
  options: { cgroup?: MemoryCgroup } = {},
): Promise<AppProcess> {
  const port = await freePort();
  const spawnOptions = {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'] as ['ignore', 'ignore', 'inherit'],
  };
  const child = options.cgroup
    ? spawn(
        '/bin/sh',
        [
          '-c',
          'echo $$ > "$0/cgroup.procs" && exec "$1" "$2"',
          options.cgroup.path,
          process.execPath,
          MAIN,
        ],
        spawnOptions,
      )
    : spawn(process.execPath, [MAIN], spawnOptions);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`app exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, pid: child.pid!, port };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops the app with SIGTERM and waits for it to exit. */
export async function stopApp(app: AppProcess): Promise<void> {
  if (app.child.exitCode !== null || app.child.signalCode !== null) return;
  const exited = new Promise((r) => app.child.once('exit', r));
  app.child.kill('SIGTERM');
  await exited;
}
