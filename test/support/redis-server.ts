import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '#lib/runtime';

export { freePort };

/** A private `redis-server` for one test suite or benchmark: its own port and directory. */
export interface TestRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Arguments of a throwaway `redis-server` on `port` keeping its files in `dir`: loopback only, no
 * persistence, `noeviction` as BullMQ requires; `extra` is appended.
 */
export function redisServerArgs(port: number, dir: string, extra: string[] = []): string[] {
  return [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
    ...['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
    ...extra,
  ];
}

/** Starts `redis-server` on a free port, with `noeviction` as BullMQ requires. */
export async function startTestRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'snapwarden-redis-'));
  const port = await freePort();
  const child = spawn('redis-server', redisServerArgs(port, dir), { stdio: 'ignore' });
  await waitForPort(port, 10_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
