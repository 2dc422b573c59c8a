/** What several benchmark scenarios share: the bare BullMQ baseline and the app as a process. */
import { spawn, type ChildProcess } from 'node:child_process';
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
  await stopMeasure?.();
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  workerConnection.disconnect();
  return seconds;
}

/** The built app as a child process, started by {@link startApp}. */
export interface AppProcess {
  child: ChildProcess;
  pid: number;
  port: number;
}

/** Starts the built app with `env` and resolves once its `/healthz` answers 200. */
export async function startApp(env: Record<string, string>): Promise<AppProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
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
