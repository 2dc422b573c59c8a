import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitForPort } from '#lib/runtime';
import { eventually } from './app-process.js';
import { redisServerArgs } from './redis-server.js';

/** The name the sentinels monitor the primary under. */
export const SENTINEL_NAME = 'snapwarden';

/** A redis-server primary, one replica and three sentinels, each on its own free port. */
export interface SentinelSetup {
  primaryPort: number;
  replicaPort: number;
  sentinelPorts: number[];
  /** `REDIS_SENTINELS` for the app. */
  sentinelsEnv: string;
  /** SIGKILL the current primary: no shutdown, no last replication. */
  killPrimary(): Promise<void>;
  /** The port the sentinels currently name as primary (asked of the first one answering). */
  primaryPortNow(): Promise<number | undefined>;
  stop(): Promise<void>;
}

interface Child {
  port: number;
  process: ChildProcess;
}

const DOWN_AFTER_MS = 1000;

/** Starts primary, replica (in sync) and three sentinels that all see each other. */
export async function startSentinelSetup(): Promise<SentinelSetup> {
  const dir = await mkdtemp(join(tmpdir(), 'snapwarden-sentinel-'));
  const children: Child[] = [];
  try {
    const primary = await startServer(dir, 'primary', []);
    children.push(primary);
    const replica = await startServer(dir, 'replica', [
      '--replicaof',
      '127.0.0.1',
      String(primary.port),
    ]);
    children.push(replica);
    await untilReplicaInSync(replica.port);
    const sentinels: Child[] = [];
    for (let i = 0; i < 3; i += 1) {
      const sentinel = await startSentinel(dir, i, primary.port);
      children.push(sentinel);
      sentinels.push(sentinel);
    }
    await untilSentinelsAgree(sentinels.map((s) => s.port));
    const sentinelPorts = sentinels.map((s) => s.port);
    return {
      primaryPort: primary.port,
      replicaPort: replica.port,
      sentinelPorts,
      sentinelsEnv: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
      killPrimary: () => kill(primary),
      primaryPortNow: () => askPrimary(sentinelPorts),
      stop: () => stopAll(children, dir),
    };
  } catch (error) {
    await stopAll(children, dir);
    throw error;
  }
}

async function startServer(dir: string, name: string, extra: string[]): Promise<Child> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    redisServerArgs(port, dir, ['--dbfilename', `${name}.rdb`, ...extra]),
    {
      stdio: 'ignore',
    },
  );
  await waitForPort(port, 10_000);
  return { port, process: child };
}

async function startSentinel(dir: string, index: number, primaryPort: number): Promise<Child> {
  const port = await freePort();
  // redis-sentinel rewrites its configuration file, so each gets its own writable one.
  const file = join(dir, `sentinel-${index}.conf`);
  await writeFile(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${SENTINEL_NAME} ${DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${SENTINEL_NAME} 10000`,
      `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-sentinel', [file], { stdio: 'ignore' });
  await waitForPort(port, 10_000);
  return { port, process: child };
}

/** Runs `fn` with a short-lived client of one port. */
async function withClient<T>(port: number, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

function untilReplicaInSync(port: number): Promise<true> {
  return eventually(
    () =>
      withClient(port, async (c) =>
        (await c.info('replication')).includes('master_link_status:up') ? true : undefined,
      ),
    20_000,
    'replica in sync with the primary',
  );
}

/** Every sentinel knows the replica and the two other sentinels, so a quorum can fail over. */
function untilSentinelsAgree(ports: number[]): Promise<true> {
  return eventually(
    async () => {
      for (const port of ports) {
        const ok = await withClient(port, async (c) => {
          const others = (await c.call('SENTINEL', 'SENTINELS', SENTINEL_NAME)) as unknown[];
          const replicas = (await c.call('SENTINEL', 'REPLICAS', SENTINEL_NAME)) as unknown[];
          return others.length === ports.length - 1 && replicas.length === 1;
        });
        if (!ok) return undefined;
      }
      return true;
    },
    30_000,
    'three sentinels that see each other and the replica',
  );
}

async function askPrimary(ports: number[]): Promise<number | undefined> {
  for (const port of ports) {
    try {
      const address = await withClient(
        port,
        (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME) as Promise<string[]>,
      );
      if (address?.[1]) return Number(address[1]);
    } catch {
      // This sentinel is not answering; ask the next one.
    }
  }
  return undefined;
}

async function kill(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  const exited = new Promise((r) => child.process.once('exit', r));
  child.process.kill('SIGKILL');
  await exited;
}

async function stopAll(children: Child[], dir: string): Promise<void> {
  await Promise.all(children.map((c) => kill(c)));
  await rm(dir, { recursive: true, force: true });
}
