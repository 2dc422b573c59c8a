import fc from 'fast-check';
import { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import { VolumeLocks, type LockedRead } from './volume-lock.js';

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

/** Reads of three kinds, decoded to plain values that compare with toEqual. */
function readsOf(prefix: string) {
  const text: LockedRead<string | undefined> = {
    command: 'GET',
    key: `${prefix}:text`,
    decode: (raw) => (typeof raw === 'string' ? raw : undefined),
  };
  const members: LockedRead<string[]> = {
    command: 'SMEMBERS',
    key: `${prefix}:set`,
    decode: (raw) => [...(raw as string[])].sort(),
  };
  const fields: LockedRead<string[]> = {
    command: 'HGETALL',
    key: `${prefix}:hash`,
    decode: (raw) => raw as string[],
  };
  return { text, members, fields };
}

describe('VolumeLocks.take with reads', () => {
  let run = 0;

  it('reads and announces only when the lock is taken, and reads what holds then', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 4 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), {
          maxKeys: 3,
        }),
        fc.constantFrom('free', 'mine', 'other'),
        fc.boolean(),
        async (text, members, fields, holder, announcing) => {
          const prefix = `lock-reads-${++run}`;
          const locks = new VolumeLocks(redis, prefix);
          const reads = readsOf(prefix);
          await store(reads, text, members, fields);
          if (holder !== 'free') {
            await locks.acquire('ns/vol', holder === 'mine' ? 'job-1' : 'job-2', 60_000);
          }
          const stream = `${prefix}:events`;
          const announce = announcing
            ? { stream, maxEvents: 100, entries: ['{"type":"snapshot.started"}'] }
            : undefined;

          const taken = await locks.take('ns/vol', 'job-1', 30_000, { reads, announce });

          const expected = holder === 'other' ? undefined : 'job-1';
          expect(await locks.owner('ns/vol')).toBe(holder === 'other' ? 'job-2' : expected);
          expect(await redis.xlen(stream)).toBe(announcing && expected ? 1 : 0);
          if (!expected) {
            expect(taken).toBeUndefined();
            return;
          }
          expect(taken).toEqual({
            text,
            members: [...members].sort(),
            fields: Object.entries(await redis.hgetall(reads.fields.key)).flat(),
          });
          expect(Object.fromEntries(chunks(taken?.fields ?? []))).toEqual(fields);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('hands the reads to the work of withLock, and leaves out a read that is undefined', async () => {
    const locks = new VolumeLocks(redis, 'lock-reads-hold');
    const { text } = readsOf('lock-reads-hold');
    await redis.set(text.key, 'owed');
    const held = await locks.withLock(
      'ns/vol',
      'job-1',
      30_000,
      (hold) => Promise.resolve(hold.read),
      {
        reads: { text, nothing: undefined },
      },
    );
    expect(held?.value).toEqual({ text: 'owed' });
    expect(await locks.owner('ns/vol')).toBeUndefined();
  });

  it('does not run the work, nor read, while another owner holds the lock', async () => {
    const locks = new VolumeLocks(redis, 'lock-reads-busy');
    await locks.acquire('ns/vol', 'job-2', 30_000);
    let ran = false;
    const held = await locks.withLock(
      'ns/vol',
      'job-1',
      30_000,
      () => {
        ran = true;
        return Promise.resolve();
      },
      { reads: readsOf('lock-reads-busy') },
    );
    expect(held).toBeUndefined();
    expect(ran).toBe(false);
    expect(await locks.owner('ns/vol')).toBe('job-2');
  });
});

describe('VolumeLocks with deliveries (attempt)', () => {
  it('holds a lock for one delivery of a job, and hands a parked lock to its next one', async () => {
    const locks = new VolumeLocks(redis, 'lock-attempts');
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const first = locks.withLock(
      'ns/vol',
      'job-1',
      30_000,
      async () => {
        entered();
        await gate;
        return 'wait';
      },
      { attempt: 'a', keepFor: () => 10_000 },
    );
    await inside;
    expect(await locks.owner('ns/vol')).toBe('job-1@a');
    // A second delivery of the same job while the first still works finds the volume busy.
    const second = await locks.withLock('ns/vol', 'job-1', 30_000, () => Promise.resolve(2), {
      attempt: 'b',
    });
    expect(second).toBeUndefined();
    open();
    expect((await first)?.value).toBe('wait');
    // Parked for the job's next delivery: no other job takes it, that delivery does.
    expect(await locks.owner('ns/vol')).toBe('job-1');
    expect(await locks.take('ns/vol', 'job-2', 30_000, { attempt: 'x' })).toBeUndefined();
    const next = await locks.withLock('ns/vol', 'job-1', 30_000, () => locks.owner('ns/vol'), {
      attempt: 'c',
    });
    expect(next?.value).toBe('job-1@c');
    expect(await locks.owner('ns/vol')).toBeUndefined();
  });

  it('lets a release by plain owner free only a parked lock, never a delivery at work', async () => {
    const locks = new VolumeLocks(redis, 'lock-attempts-release');
    await locks.take('ns/vol', 'job-1', 30_000, { attempt: 'a' });
    await locks.release('ns/vol', 'job-1');
    expect(await locks.owner('ns/vol')).toBe('job-1@a');
    await locks.release('ns/vol', 'job-1@a');
    expect(await locks.owner('ns/vol')).toBeUndefined();
  });
});

async function store(
  reads: ReturnType<typeof readsOf>,
  text: string | undefined,
  members: string[],
  fields: Record<string, string>,
): Promise<void> {
  if (text !== undefined) await redis.set(reads.text.key, text);
  if (members.length > 0) await redis.sadd(reads.members.key, ...members);
  for (const [field, value] of Object.entries(fields)) {
    await redis.hset(reads.fields.key, field, value);
  }
}

function chunks(flat: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i] ?? '', flat[i + 1] ?? '']);
  return pairs;
}

describe('VolumeLocks.take unless finished', () => {
  let run = 0;

  it('is not taken, and writes nothing, while the guard field holds a final result', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(undefined, 'pending', 'running', 'succeeded', 'failed', 'skipped'),
        fc.constantFrom('valid', 'other-field', 'not-json'),
        fc.boolean(),
        fc.boolean(),
        async (state, layout, announcing, reading) => {
          const prefix = `lock-guard-${++run}`;
          const locks = new VolumeLocks(redis, prefix);
          const guard = { key: `${prefix}:run`, field: 'v:vol' };
          if (state !== undefined) {
            const value =
              layout === 'not-json' ? `{${state}` : JSON.stringify({ volume: 'vol', state });
            await redis.hset(guard.key, layout === 'other-field' ? 'v:other' : guard.field, value);
          }
          const stream = `${prefix}:events`;
          const announce = announcing
            ? { stream, maxEvents: 100, entries: [JSON.stringify({ type: 'snapshot.started' })] }
            : undefined;
          const taken = await locks.take('ns/vol', 'job-1', 60_000, {
            announce,
            reads: reading ? { text: readsOf(prefix).text } : undefined,
            attempt: 'token-1',
            unlessFinished: guard,
          });
          // Only a readable final result in the guarded field keeps the lock from being taken.
          const final =
            layout === 'valid' && ['succeeded', 'failed', 'skipped'].includes(state ?? '');
          expect(taken === undefined).toBe(final);
          expect(await locks.owner('ns/vol')).toBe(final ? undefined : 'job-1@token-1');
          expect(await redis.xlen(stream)).toBe(!final && announcing ? 1 : 0);
        },
      ),
      { numRuns: 80 },
    );
  });
});
