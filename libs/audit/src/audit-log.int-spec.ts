import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import {
  AUDIT_REDIS_OPTIONS,
  AuditLog,
  type AuditEvent,
  type AuditEventInput,
  type AuditFilter,
  AuditUnavailableError,
  InvalidQueryError,
} from './index.js';

let server: TestRedis;
let redis: Redis;
const logs: AuditLog[] = [];

beforeAll(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url, AUDIT_REDIS_OPTIONS);
});

afterEach(async () => {
  await Promise.all(logs.splice(0).map((log) => log.close()));
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

function newLog(options: Partial<ConstructorParameters<typeof AuditLog>[1]> = {}): AuditLog {
  const log = new AuditLog(redis, { prefix: `test:${randomUUID()}:`, ...options });
  logs.push(log);
  return log;
}

const base: AuditEventInput = { type: 'snapshot.ready', outcome: 'succeeded', trigger: 'schedule' };

function sample(i: number): AuditEventInput {
  const failed = i % 3 === 0;
  return {
    type: failed ? 'snapshot.failed' : 'snapshot.ready',
    outcome: failed ? 'failed' : 'succeeded',
    trigger: i % 2 === 0 ? 'schedule' : 'api:release-bot',
    policy: i % 2 === 0 ? 'shop/nightly' : 'shop/hourly',
    namespace: i % 5 === 0 ? 'billing' : 'shop',
    volume: `vol-${i % 4}`,
    snapshot: `snap-${i}`,
    runId: `run-${i % 7}`,
    attributes: { i },
    ...(failed ? { error: `quota exceeded (${i})` } : {}),
  };
}

async function appendSamples(log: AuditLog, count: number): Promise<AuditEvent[]> {
  const stored: AuditEvent[] = [];
  for (let i = 0; i < count; i += 100) {
    const inputs = Array.from({ length: Math.min(100, count - i) }, (_, k) => sample(i + k));
    stored.push(...(await log.appendMany(inputs)));
  }
  return stored;
}

async function queryAll(
  log: AuditLog,
  filter: AuditFilter,
): Promise<{ events: AuditEvent[]; pages: number }> {
  const events: AuditEvent[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await log.query({ ...filter, ...(cursor === undefined ? {} : { cursor }) });
    events.push(...page.items);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined && pages < 1_000);
  return { events, pages };
}

const ids = (events: readonly AuditEvent[]) => events.map((e) => e.id);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('AuditLog append and query', () => {
  it('stores an event with every field and returns it as queried back', async () => {
    const log = newLog();
    const time = new Date('2025-06-01T02:00:00.000Z');
    const stored = await log.append({
      ...base,
      type: 'snapshot.failed',
      outcome: 'failed',
      policy: 'shop/nightly',
      namespace: 'shop',
      volume: 'data',
      snapshot: 'nightly-data-1',
      runId: 'run-1',
      jobId: 'job-1',
      durationMs: 2_500,
      error: 'driver: quota exceeded',
      message: 'snapshot failed',
      reason: 'QuotaExceeded',
      attributes: { attempt: 3, final: true },
      time,
    });
    expect(stored.id).toMatch(/^\d+-\d+$/);
    expect(stored.time).toBe(time.toISOString());
    const page = await log.query({});
    expect(page).toEqual({ items: [stored] });
  });

  it('lists newest first by default and oldest first on request', async () => {
    const log = newLog();
    const stored = await appendSamples(log, 5);
    expect(ids((await log.query({})).items)).toEqual(ids(stored).reverse());
    expect(ids((await log.query({ order: 'asc' })).items)).toEqual(ids(stored));
  });

  it.each<[string, AuditFilter, (e: AuditEvent) => boolean]>([
    ['policy', { policy: 'shop/hourly' }, (e) => e.policy === 'shop/hourly'],
    ['namespace', { namespace: 'billing' }, (e) => e.namespace === 'billing'],
    ['volume name', { volume: 'vol-1' }, (e) => e.volume === 'vol-1'],
    [
      'namespaced volume',
      { volume: 'billing/vol-1' },
      (e) => e.volume === 'vol-1' && e.namespace === 'billing',
    ],
    ['snapshot', { snapshot: 'snap-17' }, (e) => e.snapshot === 'snap-17'],
    ['run id', { runId: 'run-3' }, (e) => e.runId === 'run-3'],
    ['one type', { type: 'snapshot.failed' }, (e) => e.type === 'snapshot.failed'],
    [
      'several types',
      { type: ['snapshot.failed', 'run.missed'] },
      (e) => e.type === 'snapshot.failed',
    ],
    ['outcome', { outcome: 'succeeded' }, (e) => e.outcome === 'succeeded'],
    [
      'several criteria at once',
      { policy: 'shop/nightly', outcome: 'failed', namespace: 'shop' },
      (e) => e.policy === 'shop/nightly' && e.outcome === 'failed' && e.namespace === 'shop',
    ],
  ])('filters by %s', async (_name, filter, expected) => {
    const log = newLog();
    const stored = await appendSamples(log, 60);
    const { events } = await queryAll(log, { ...filter, limit: 7 });
    const wanted = stored.filter(expected).reverse();
    expect(wanted.length).toBeGreaterThan(0);
    expect(ids(events)).toEqual(ids(wanted));
  });

  it('pages through a long log without gaps or duplicates, in both orders', async () => {
    const log = newLog();
    const stored = await appendSamples(log, 537);
    const desc = await queryAll(log, { limit: 50 });
    expect(ids(desc.events)).toEqual(ids(stored).reverse());
    expect(desc.pages).toBe(11);
    const asc = await queryAll(log, { limit: 500, order: 'asc' });
    expect(ids(asc.events)).toEqual(ids(stored));
    expect(asc.pages).toBe(2);
  });

  it('sees events appended between pages on the next newest-first listing, not as duplicates', async () => {
    const log = newLog();
    const first = await appendSamples(log, 30);
    const page1 = await log.query({ limit: 10 });
    await appendSamples(log, 5);
    const page2 = await log.query({ limit: 10, cursor: page1.nextCursor });
    expect(ids([...page1.items, ...page2.items])).toEqual(ids(first).reverse().slice(0, 20));
  });

  it('returns only events recorded in [since, until)', async () => {
    const log = newLog();
    await appendSamples(log, 20);
    await sleep(5);
    const middle = await appendSamples(log, 20);
    await sleep(5);
    const last = await appendSamples(log, 20);
    const msOf = (e: AuditEvent | undefined) => Number(e?.id.split('-')[0]);
    const filter = { since: new Date(msOf(middle[0])), until: new Date(msOf(last[0])) };
    expect(ids((await queryAll(log, { ...filter, limit: 6 })).events)).toEqual(
      ids(middle).reverse(),
    );
    expect(ids((await queryAll(log, { ...filter, order: 'asc', limit: 6 })).events)).toEqual(
      ids(middle),
    );
    expect(
      await log.query({ since: new Date(msOf(last[0])), until: new Date(msOf(middle[0])) }),
    ).toEqual({
      items: [],
    });
  });

  it('bounds the work of a selective query and hands back a cursor to continue', async () => {
    const log = newLog({ scan: { batchSize: 100, maxBatches: 3 } });
    const stored = await appendSamples(log, 1_000);
    const needle = stored[0];
    const first = await log.query({ snapshot: 'snap-0' });
    expect(first.items).toEqual([]);
    expect(first.nextCursor).toBeDefined();
    const { events, pages } = await queryAll(log, { snapshot: 'snap-0' });
    expect(events).toEqual([needle]);
    expect(pages).toBe(4);
  });

  it('rejects a malformed cursor with InvalidQueryError naming the cursor', async () => {
    const log = newLog();
    await expect(log.query({ cursor: 'not-a-cursor!' })).rejects.toThrow(InvalidQueryError);
    await expect(
      log.query({ cursor: Buffer.from('e:nope').toString('base64url') }),
    ).rejects.toMatchObject({
      field: 'cursor',
    });
  });
});

describe('AuditLog bounds', () => {
  it('keeps the stream near maxEvents however many events are appended', async () => {
    const log = newLog({ maxEvents: 200 });
    await appendSamples(log, 1_000);
    for (let i = 0; i < 150; i++) await log.append(sample(i));
    const length = await redis.xlen(log['key']);
    expect(length).toBeGreaterThanOrEqual(200);
    // Approximate trimming removes whole stream nodes (100 entries by default).
    expect(length).toBeLessThanOrEqual(300);
  });

  it('trims events older than maxAgeMs and keeps younger ones', async () => {
    const log = newLog({ maxAgeMs: 60_000 });
    await appendSamples(log, 250);
    expect(await log.trim(new Date())).toBe(0);
    expect((await log.query({ limit: 500 })).items).toHaveLength(250);
    expect(await log.trim(new Date(Date.now() + 120_000))).toBe(250);
    expect(await log.query({})).toEqual({ items: [] });
  });
});

describe('AuditLog live tail', () => {
  function collect(log: AuditLog, count: number, options = {}) {
    const received: AuditEvent[] = [];
    let done: () => void = () => undefined;
    const complete = new Promise<void>((resolve) => (done = resolve));
    const unsubscribe = log.subscribe((event) => {
      received.push(event);
      if (received.length === count) done();
    }, options);
    return { received, complete, unsubscribe };
  }

  it('delivers each new event once, in append order, and nothing after unsubscribing', async () => {
    const log = newLog();
    await appendSamples(log, 10);
    const tail = collect(log, 125);
    await tail.unsubscribe.ready;
    const stored = await appendSamples(log, 120);
    for (let i = 0; i < 5; i++) stored.push(await log.append(sample(i)));
    await tail.complete;
    expect(tail.received).toEqual(stored);
    tail.unsubscribe();
    await log.append(base);
    await sleep(100);
    expect(tail.received).toHaveLength(125);
  });

  it('resumes without a gap after its connection is killed', async () => {
    const log = newLog();
    const tail = collect(log, 40);
    await tail.unsubscribe.ready;
    const before = await appendSamples(log, 20);
    while (tail.received.length < 20) await sleep(10);
    const clients = (await redis.client('LIST')) as string;
    const blocked = clients.split('\n').filter((line) => line.includes('cmd=xread'));
    expect(blocked).toHaveLength(1);
    const id = /\bid=(\d+)/.exec(blocked[0] ?? '')?.[1] ?? '';
    await redis.client('KILL', 'ID', id);
    const after = await appendSamples(log, 20);
    await tail.complete;
    expect(ids(tail.received)).toEqual(ids([...before, ...after]));
  });

  it('resumes after a given event id, as an SSE client with Last-Event-ID does', async () => {
    const log = newLog();
    const stored = await appendSamples(log, 20);
    const tail = collect(log, 12, { after: stored[7]?.id });
    await tail.complete;
    expect(tail.received).toEqual(stored.slice(8));
  });

  it('rejects an after id that is not a stream id', () => {
    const log = newLog();
    expect(() => log.subscribe(() => undefined, { after: 'yesterday' })).toThrow(InvalidQueryError);
  });

  it('keeps delivering when a listener throws, reporting the error', async () => {
    const log = newLog();
    const errors: unknown[] = [];
    const received: string[] = [];
    const unsubscribe = log.subscribe(
      (event) => {
        received.push(event.id);
        if (received.length === 1) throw new Error('listener broke');
      },
      { onError: (error) => errors.push(error) },
    );
    await unsubscribe.ready;
    const stored = await appendSamples(log, 3);
    while (received.length < 3) await sleep(10);
    expect(received).toEqual(ids(stored));
    expect(errors).toEqual([new Error('listener broke')]);
    unsubscribe();
  });

  it('closes its tail connections on close() and leaves the shared client open', async () => {
    const name = `tail-${randomUUID()}`;
    const client = redis.duplicate({ connectionName: name });
    const log = new AuditLog(client, { prefix: `test:${randomUUID()}:` });
    const connections = async () => {
      const list = (await redis.client('LIST')) as string;
      return list.split('\n').filter((line) => line.includes(`name=${name} `)).length;
    };
    const tails = [log.subscribe(() => undefined), log.subscribe(() => undefined)];
    await Promise.all(tails.map((tail) => tail.ready));
    await client.ping();
    expect(await connections()).toBe(3);
    await log.close();
    await sleep(100);
    expect(await connections()).toBe(1);
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });
});

describe('AuditLog without Redis', () => {
  it('rejects append with AuditUnavailableError once its client is disconnected', async () => {
    const client = new Redis(server.url, AUDIT_REDIS_OPTIONS);
    const log = new AuditLog(client, { prefix: `test:${randomUUID()}:` });
    await log.append(base);
    client.disconnect();
    await expect(log.append(base)).rejects.toThrow(AuditUnavailableError);
    await expect(log.append(base)).rejects.toThrow(
      /audit log unavailable: could not append snapshot.ready event/,
    );
  });

  it('rejects append within seconds, not never, when the redis-server goes away', async () => {
    const own = await startTestRedis();
    // disconnectTimeout: ioredis otherwise keeps a 2 s timer for the already dead socket.
    const client = new Redis(own.url, { ...AUDIT_REDIS_OPTIONS, disconnectTimeout: 10 });
    client.on('error', () => undefined);
    const log = new AuditLog(client, { prefix: 'test:' });
    await log.append(base);
    await own.stop();
    const started = Date.now();
    const error: unknown = await log.append(base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect((error as AuditUnavailableError).cause).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(6_000);
    await expect(log.appendMany([base, base])).rejects.toThrow(AuditUnavailableError);
    client.disconnect();
  });
});
