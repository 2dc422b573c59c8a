import { Redis } from 'ioredis';
import { AUDIT_REDIS_OPTIONS } from '#lib/audit';
import {
  checkKeyLayoutWhenReachable,
  freePort,
  KEY_LAYOUT_VERSION,
  KeyLayoutError,
  layoutKey,
} from '#lib/runtime';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';

describe('checkKeyLayoutWhenReachable', () => {
  let redis: TestRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await startTestRedis();
    client = new Redis(redis.url, AUDIT_REDIS_OPTIONS);
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('stamps an empty prefix once, and concurrent starts agree', async () => {
    await Promise.all([1, 2, 3].map(() => checkKeyLayoutWhenReachable(client, 'together')));
    expect(await client.get(layoutKey('together'))).toBe(String(KEY_LAYOUT_VERSION));
  });

  it('throws KeyLayoutError at once for another layout', async () => {
    await client.set(layoutKey('other'), '7');
    await expect(checkKeyLayoutWhenReachable(client, 'other', 60_000)).rejects.toBeInstanceOf(
      KeyLayoutError,
    );
  });

  it('gives up on an unreachable Redis after the wait, saying what it could not check', async () => {
    const nowhere = new Redis({
      port: await freePort(),
      host: '127.0.0.1',
      ...AUDIT_REDIS_OPTIONS,
    });
    nowhere.on('error', () => undefined);
    try {
      await expect(checkKeyLayoutWhenReachable(nowhere, 'x', 1000)).rejects.toThrow(
        /Redis did not answer within 1 s of start-up, so its key layout could not be checked/,
      );
    } finally {
      nowhere.disconnect();
    }
  });
});
