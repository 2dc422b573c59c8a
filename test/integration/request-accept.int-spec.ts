import { BadRequestException, ConflictException } from '@nestjs/common';
import { RejectedRequestError } from '#lib/engine';
import { parseSnapshotRequestSpec, type SnapshotRequestSpec } from '#lib/policy';
import { MemoryDriver } from '#lib/storage';
import { createAndSubmit } from '../../apps/api/src/request-submit.js';
import { createEngineHarness, type EngineHarness } from '../support/engine-harness.js';
import { createRequestHarness, type RequestHarness } from '../support/request-harness.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

function spec(input: Record<string, unknown>): SnapshotRequestSpec {
  const parsed = parseSnapshotRequestSpec(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.value;
}

describe('accepting a request writes it whole or not at all', () => {
  let redis: TestRedis;
  let harness: EngineHarness;
  let requests: RequestHarness;
  let driver: MemoryDriver;

  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(() => {
    driver = new MemoryDriver();
    driver.addVolume({ name: 'db-0', labels: { tier: 'db' }, sizeBytes: 1024 });
    harness = createEngineHarness({ redisUrl: redis.url, driver });
    requests = createRequestHarness(harness);
  });
  afterEach(async () => {
    await requests.close().catch(() => undefined);
    await harness.close();
    await driver.close();
  });

  const requestKeys = () => harness.redis.keys(`${harness.prefix}:request:*`);
  const input = (name: string, s: Record<string, unknown>) => ({
    namespace: 'default',
    name,
    spec: spec(s),
    trigger: 'test',
  });

  it.each([
    [
      'a ttl whose expiry is past the last date',
      { claimNames: ['db-0'], ttl: '99999999d' },
      'spec.ttl',
    ],
    [
      'a policyRef to no policy',
      { claimNames: ['db-0'], policyRef: { name: 'ghost' } },
      'spec.policyRef.name',
    ],
  ])('refuses %s naming the field, storing nothing', async (_, s, field) => {
    const create = requests.requests.create(input('refused', s));
    await expect(create).rejects.toBeInstanceOf(RejectedRequestError);
    await expect(create).rejects.toMatchObject({ field });
    expect(await requestKeys()).toEqual([]);
  });

  it('stores a new request with its expiry in one step', async () => {
    expect(await requests.requests.create(input('kept', { claimNames: ['db-0'], ttl: '1h' }))).toBe(
      true,
    );
    const stored = await requests.requests.status('default/kept');
    expect(stored).toMatchObject({ phase: 'Pending', expiresAt: expect.any(String) });
  });

  it('takes a request back when it cannot be queued, so its name stays free', async () => {
    const key = 'default/unqueued';
    // The enqueue step fails (as when the queue's Redis write errors); the record is real.
    const accept = createAndSubmit('snapshot request', key, {
      create: () => requests.requests.create(input('unqueued', { claimNames: ['db-0'] })),
      submit: () => Promise.reject(new Error('queue unavailable')),
      discard: () => requests.requests.discard(key),
      queued: () => requests.producer.requestQueued(key),
    });
    await expect(accept).rejects.toThrow('queue unavailable');
    expect(await requests.requests.status(key)).toBeUndefined();
    expect(await requestKeys()).toEqual([]);
    expect(await requests.requests.create(input('unqueued', { claimNames: ['db-0'] }))).toBe(true);
  });

  it('keeps and runs a request whose enqueue reached the queue but whose reply was lost', async () => {
    const key = 'default/reply-lost';
    harness.startWorkers();
    // The jobs are written, then the connection drops before the reply: the caller sees an error.
    await createAndSubmit('snapshot request', key, {
      create: () => requests.requests.create(input('reply-lost', { claimNames: ['db-0'] })),
      submit: async () => {
        await requests.producer.submitRequest(key, 60_000);
        throw new Error('Connection is closed.');
      },
      discard: () => requests.requests.discard(key),
      queued: () => requests.producer.requestQueued(key),
    });
    // Taken back, the queued job would run on no record and the request would vanish.
    const done = await requests.waitForRequest('reply-lost');
    expect(done.phase).toBe('Succeeded');
    const volume = await driver.getVolume({ namespace: 'default', name: 'db-0' });
    expect(await driver.listSnapshots(volume!)).toHaveLength(1);
  });

  it('never takes back a request that has started', async () => {
    await requests.requests.create(input('started', { claimNames: ['db-0'] }));
    await requests.requests.start('default/started');
    expect(await requests.requests.discard('default/started')).toBe(false);
    expect((await requests.requests.status('default/started'))?.phase).toBe('Running');
  });

  it('answers a refused request with 400 and a taken name with 409, changing nothing', async () => {
    const steps = (name: string, s: Record<string, unknown>) => ({
      create: () => requests.requests.create(input(name, s)),
      submit: () => Promise.resolve(),
      discard: () => requests.requests.discard(`default/${name}`),
      queued: () => Promise.resolve(false),
    });
    await expect(
      createAndSubmit(
        'snapshot request',
        'default/a',
        steps('a', { claimNames: ['db-0'], ttl: '99999999d' }),
      ),
    ).rejects.toBeInstanceOf(BadRequestException);
    await createAndSubmit('snapshot request', 'default/a', steps('a', { claimNames: ['db-0'] }));
    const before = await requests.requests.status('default/a');
    await expect(
      createAndSubmit(
        'snapshot request',
        'default/a',
        steps('a', { selector: { matchLabels: { tier: 'db' } } }),
      ),
    ).rejects.toBeInstanceOf(ConflictException);
    expect(await requests.requests.status('default/a')).toEqual(before);
  });
});
