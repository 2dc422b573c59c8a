import { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import { PolicyStore } from './policy-store.js';

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

describe('PolicyStore problems', () => {
  it('keeps since when a source keeps failing with the same errors, and restarts it when they change', async () => {
    const store = new PolicyStore(redis, 'test-problems');
    const errors = [{ field: 'spec.schedule', message: 'bad' }];
    await store.setProblem({ source: 'file:a.yaml', errors, seenAt: '2026-01-01T00:00:00.000Z' });
    await store.setProblem({ source: 'file:a.yaml', errors, seenAt: '2026-01-01T00:01:00.000Z' });
    expect(await store.problems()).toEqual([
      expect.objectContaining({
        seenAt: '2026-01-01T00:01:00.000Z',
        since: '2026-01-01T00:00:00.000Z',
      }),
    ]);
    const other = [{ field: 'spec.retention', message: 'worse' }];
    await store.setProblem({
      source: 'file:a.yaml',
      errors: other,
      seenAt: '2026-01-01T00:02:00.000Z',
    });
    expect((await store.problems())[0]?.since).toBe('2026-01-01T00:02:00.000Z');
  });
});
