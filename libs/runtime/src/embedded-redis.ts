import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, waitForPort } from './net-util.js';

/** The redis-server child process that local mode starts when `REDIS_URL` is unset. */
export interface EmbeddedRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Raised when `redis-server` is not installed; the message says how to install it. */
export class RedisBinaryMissingError extends Error {
  constructor() {
    super(
      'redis-server was not found on PATH. Local mode starts its own Redis: install it ' +
        '(Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) ' +
        'or point REDIS_URL at a running Redis.',
    );
  }
}

/**
 * Starts `redis-server` with AOF persistence and `noeviction` (BullMQ loses jobs under
 * eviction) under `<dataDir>/redis`, on a free loopback port. A server left running by a
 * previous process that was killed is stopped first, so its AOF is not shared by two servers.
 */
export async function startEmbeddedRedis(dataDir: string): Promise<EmbeddedRedis> {
  const dir = join(dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const pidFile = join(dir, 'redis.pid');
  await stopLeftover(pidFile);
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--pidfile',
      pidFile,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      '--logfile',
      join(dir, 'redis.log'),
    ],
    // Its own process group: Ctrl-C in a terminal signals the app's group, and the app must
    // drain against a live Redis before it stops the server itself.
    { stdio: 'ignore', detached: true },
  );
  // If this process exits without stopping it (an uncaught error), don't leave it behind.
  const orphanGuard = () => void child.kill('SIGTERM');
  process.once('exit', orphanGuard);
  try {
    await waitForStart(child, port);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await stopChild(child);
      process.removeListener('exit', orphanGuard);
    },
  };
}

async function waitForStart(child: ChildProcess, port: number): Promise<void> {
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new RedisBinaryMissingError() : error),
    );
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`)));
  });
  await Promise.race([failed, waitForPort(port, 15_000)]);
}

/** SIGTERM (redis-server flushes its AOF and exits); SIGKILL if it is still there after 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Stops the embedded redis-server a process killed without stopping it left running under
 * `dataDir` (its pid file names it); nothing when there is none. A start does this first; a
 * test's teardown does it for an app it killed.
 */
export async function stopLeftoverEmbeddedRedis(dataDir: string): Promise<void> {
  await stopLeftover(join(dataDir, 'redis', 'redis.pid'));
}

async function stopLeftover(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!pid) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (cmdline.includes('redis-server')) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
  }
  await rm(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
