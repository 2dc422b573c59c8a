import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { KEY_LAYOUT_VERSION, layoutKey } from '#lib/runtime';
import { MAIN, startApp } from '../support/app-process.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/** Runs the built app until it exits (start-up refused), with a deadline. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the Redis key layout version', () => {
  let redis: TestRedis;
  let client: Redis;
  let dir: string;

  beforeAll(async () => {
    redis = await startTestRedis();
    client = new Redis(redis.url);
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-layout-'));
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const env = (prefix: string) => ({
    REDIS_URL: redis.url,
    SNAPWARDEN_QUEUE_PREFIX: prefix,
    SNAPWARDEN_DATA_DIR: join(dir, 'data'),
    SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
  });

  it('is stamped on an empty Redis, and a restart on the same stamp starts', async () => {
    const first = await startApp(env('fresh'));
    expect(await client.get(layoutKey('fresh'))).toBe(String(KEY_LAYOUT_VERSION));
    expect(await first.stop()).toBe(0);
    const again = await startApp(env('fresh'));
    expect(await again.stop()).toBe(0);
  });

  it('stamps keys written before the stamp existed (0.1.0) as layout 1', async () => {
    await client.xadd('old:audit', '*', 'type', 'run.started');
    const app = await startApp(env('old'));
    expect(await client.get(layoutKey('old'))).toBe('1');
    expect(await app.stop()).toBe(0);
  });

  it.each(['2', 'banana'])(
    'refuses to start on layout %p, naming the key and what to do',
    async (found) => {
      await client.set(layoutKey(`future-${found}`), found);
      const result = await runToExit(env(`future-${found}`));
      expect(result.code).toBe(1);
      const messages = logMessages(result.output);
      expect(messages).toContain(`Redis key layout version "${found}"`);
      expect(messages).toContain(layoutKey(`future-${found}`));
      expect(messages).toContain('Upgrade notes');
      expect(result.output).not.toContain('snapwarden started');
      // Nothing was written: the stamp is untouched and no job, run or audit key appeared
      // (only BullMQ's queue meta hashes, written when the producers connect).
      expect(await client.get(layoutKey(`future-${found}`))).toBe(found);
      const keys = await client.keys(`future-${found}:*`);
      expect(keys.filter((k) => !k.endsWith(':meta'))).toEqual([layoutKey(`future-${found}`)]);
    },
  );
});

/** The `msg` of every JSON log line (every line the app writes is one), one per line. */
function logMessages(output: string): string {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg?: string }).msg ?? '')
    .join('\n');
}
