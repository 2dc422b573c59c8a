import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import {
  AUDIT_REDIS_OPTIONS,
  AuditLog,
  auditKeys,
  InvalidQueryError,
  RunNotFoundError,
  type RunFilter,
  type RunRecord,
  type RunStartInput,
  RunStore,
  UnknownRunVolumeError,
  type VolumeRunResult,
  type VolumeRunState,
} from './index.js';

let server: TestRedis;
let redis: Redis;
let other: Redis;

beforeAll(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url, AUDIT_REDIS_OPTIONS);
  other = new Redis(server.url, AUDIT_REDIS_OPTIONS);
});

afterAll(async () => {
  redis.disconnect();
  other.disconnect();
  await server.stop();
});

const T0 = Date.parse('2025-06-01T02:00:00.000Z');
const HOUR = 3_600_000;

function newStore(
  options: { maxRuns?: number; scan?: { batchSize: number; maxBatches: number } } = {},
) {
  const prefix = `test:${randomUUID()}:`;
  return { prefix, store: new RunStore(redis, { prefix, ...options }) };
}

function run(id: string, overrides: Partial<RunStartInput> = {}): RunStartInput {
  return {
    id,
    kind: 'scheduled',
    policy: 'shop/nightly',
    namespace: 'shop',
    trigger: 'schedule',
    scheduledAt: new Date(T0),
    volumes: ['db', 'cache'],
    ...overrides,
  };
}

async function listAll(
  store: RunStore,
  filter: RunFilter,
): Promise<{ runs: RunRecord[]; pages: number }> {
  const runs: RunRecord[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list({ ...filter, ...(cursor === undefined ? {} : { cursor }) });
    runs.push(...page.items);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined && pages < 1_000);
  return { runs, pages };
}

const idsOf = (runs: readonly RunRecord[]) => runs.map((r) => r.id);

describe('RunStore start', () => {
  it('records a running run with every volume pending', async () => {
    const { store } = newStore();
    const now = new Date(T0 + 1_500);
    const { record, created } = await store.start(run('r1'), now);
    expect(created).toBe(true);
    expect(record).toEqual({
      id: 'r1',
      kind: 'scheduled',
      policy: 'shop/nightly',
      namespace: 'shop',
      trigger: 'schedule',
      scheduledAt: new Date(T0).toISOString(),
      createdAt: now.toISOString(),
      state: 'running',
      volumes: [
        { volume: 'db', state: 'pending' },
        { volume: 'cache', state: 'pending' },
      ],
      counts: { total: 2, succeeded: 0, failed: 0, skipped: 0, pending: 2 },
    });
    expect(await store.get('r1')).toEqual(record);
  });

  it('returns the existing run on a second start and never resets it', async () => {
    const { store } = newStore();
    await store.start(run('r1'));
    const progressed = await store.updateVolume('r1', {
      volume: 'db',
      state: 'succeeded',
      snapshot: 's1',
    });
    const again = await store.start(run('r1', { volumes: ['other'], trigger: 'retry' }));
    expect(again).toEqual({ record: progressed, created: false, announced: false });
  });

  it('marks a run announced together with its start events, or alone', async () => {
    const { prefix, store } = newStore();
    const audit = new AuditLog(redis, { prefix });
    await store.start(run('r1'));
    await store.start(run('r2'));
    const started = { type: 'run.started', outcome: 'started', trigger: 'schedule' } as const;
    await store.markAnnounced('r1', audit.batch([{ ...started, runId: 'r1' }]));
    await store.markAnnounced('r2');
    expect(await store.admission('r1')).toEqual({ admission: undefined, announced: true });
    expect(await store.admission('r2')).toEqual({ admission: undefined, announced: true });
    const events = (await audit.query({})).items;
    expect(events.map((e) => [e.type, e.runId])).toEqual([['run.started', 'r1']]);
  });

  it('writes the start events and the announced mark with the run it creates, and only then', async () => {
    const { prefix, store } = newStore();
    const audit = new AuditLog(redis, { prefix });
    const seen: RunRecord[] = [];
    const announce = (record: RunRecord) => {
      seen.push(record);
      return audit.batch([
        { type: 'run.started', outcome: 'started', trigger: 'schedule', runId: record.id },
      ]);
    };
    const first = await store.start(run('r1'), new Date(T0), { announce });
    expect(first).toMatchObject({ created: true, announced: true });
    // The events are built from the record exactly as it is created and returned.
    expect(seen).toEqual([first.record]);
    expect(await store.get('r1')).toEqual(first.record);
    const again = await store.start(run('r1'), new Date(T0), { announce });
    expect(again).toMatchObject({ created: false, announced: true });
    const events = (await audit.query({})).items;
    expect(events.map((e) => [e.type, e.runId])).toEqual([['run.started', 'r1']]);
    // Without events the run is created unannounced, as before.
    expect(await store.start(run('r2'), new Date(T0), { announce: () => undefined })).toMatchObject(
      { created: true, announced: false },
    );
    expect(await store.admission('r2')).toEqual({ admission: undefined, announced: false });
  });

  it('moves the advance field forward with every start, created or not, and never back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ run: fc.integer({ min: 0, max: 3 }), value: fc.nat(1_000) }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.option(fc.nat(1_000), { nil: undefined }),
        async (starts, before) => {
          const { prefix, store } = newStore();
          const ledger = `${prefix}ledger`;
          if (before !== undefined) await redis.hset(ledger, 'ns/p', String(before));
          for (const { run: n, value } of starts) {
            await store.start(run(`r${n}`), new Date(T0), {
              advance: { key: ledger, field: 'ns/p', value },
            });
          }
          const expected = Math.max(before ?? -1, ...starts.map((s) => s.value));
          expect(Number(await redis.hget(ledger, 'ns/p'))).toBe(expected);
          const created = new Set(starts.map((s) => s.run)).size;
          expect(await redis.zcard(auditKeys.runs(prefix))).toBe(created);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('creates a run exactly once when two processes start it at the same moment', async () => {
    const { prefix } = newStore();
    const stores = [new RunStore(redis, { prefix }), new RunStore(other, { prefix })];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stores[i % 2]!.start(run('tick-1'))),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await redis.zcard(auditKeys.runs(prefix))).toBe(1);
  });

  it('finishes a run without volumes at once as succeeded', async () => {
    const { store } = newStore();
    const { record } = await store.start(run('empty', { volumes: [] }), new Date(T0));
    expect(record).toMatchObject({
      state: 'succeeded',
      finishedAt: new Date(T0).toISOString(),
      durationMs: 0,
    });
  });

  it('records a missed tick as terminal at once, with its message', async () => {
    const { store } = newStore();
    const message = 'started 20 min after the tick; startingDeadlineSeconds is 300';
    const { record } = await store.start(run('late', { state: 'missed', message }));
    expect(record).toMatchObject({
      state: 'missed',
      message,
      counts: { total: 2, skipped: 2, pending: 0 },
    });
    await expect(store.updateVolume('late', { volume: 'db', state: 'succeeded' })).resolves.toEqual(
      record,
    );
  });
});

describe('RunStore updateVolume', () => {
  it('merges a volume result and finishes the run when the last volume is done', async () => {
    const { store } = newStore();
    await store.start(run('r1'), new Date(T0));
    const startedAt = new Date(T0 + 1_000).toISOString();
    await store.updateVolume('r1', { volume: 'db', state: 'running', startedAt, attempts: 1 });
    const mid = await store.updateVolume('r1', {
      volume: 'db',
      state: 'succeeded',
      snapshot: 'snap-db',
    });
    expect(mid.state).toBe('running');
    expect(mid.volumes[0]).toEqual({
      volume: 'db',
      state: 'succeeded',
      startedAt,
      attempts: 1,
      snapshot: 'snap-db',
    });
    const done = await store.updateVolume(
      'r1',
      { volume: 'cache', state: 'failed', error: 'quota exceeded' },
      new Date(T0 + 42_000),
    );
    expect(done).toMatchObject({
      state: 'partial',
      finishedAt: new Date(T0 + 42_000).toISOString(),
      durationMs: 42_000,
      counts: { total: 2, succeeded: 1, failed: 1, skipped: 0, pending: 0 },
    });
  });

  it('keeps a terminal volume result final: a duplicate or late report changes nothing', async () => {
    const { store } = newStore();
    await store.start(run('r1'));
    const first = await store.updateVolume('r1', { volume: 'db', state: 'failed', error: 'boom' });
    expect(
      await store.updateVolume('r1', { volume: 'db', state: 'failed', error: 'boom' }),
    ).toEqual(first);
    expect(await store.updateVolume('r1', { volume: 'db', state: 'running' })).toEqual(first);
    expect(first.counts).toMatchObject({ failed: 1, pending: 1 });
  });

  it.each<[string, VolumeRunState[], string]>([
    ['all succeeded', ['succeeded', 'succeeded'], 'succeeded'],
    ['succeeded and skipped', ['succeeded', 'skipped'], 'succeeded'],
    ['all skipped', ['skipped', 'skipped'], 'succeeded'],
    ['all failed', ['failed', 'failed'], 'failed'],
    ['failed and skipped', ['failed', 'skipped'], 'partial'],
  ])('ends as expected when volumes %s', async (_name, states, expected) => {
    const { store } = newStore();
    await store.start(run('r1'));
    await store.updateVolume('r1', { volume: 'db', state: states[0]! });
    const done = await store.updateVolume('r1', { volume: 'cache', state: states[1]! });
    expect(done.state).toBe(expected);
  });

  it('computes the final state exactly once when two processes report many volumes at once', async () => {
    const { prefix } = newStore();
    const stores = [new RunStore(redis, { prefix }), new RunStore(other, { prefix })];
    const volumes = Array.from({ length: 60 }, (_, i) => `vol-${i}`);
    await stores[0]!.start(run('big', { volumes }));
    const state = (i: number): VolumeRunState =>
      i % 10 === 0 ? 'failed' : i % 7 === 0 ? 'skipped' : 'succeeded';
    // Every volume is reported twice (at-least-once delivery), half through each connection.
    const reports = [...volumes, ...volumes].map((volume, n) => {
      const attempts = n < volumes.length ? 1 : 2;
      const result = { volume, state: state(n % volumes.length), attempts };
      return stores[n % 2]!.applyVolumeResult('big', result);
    });
    const updates = await Promise.all(reports);
    const outcomes = updates.map((u) => u.outcome);
    expect(outcomes.filter((o) => o === 'finished')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'unchanged')).toHaveLength(volumes.length);
    const finishedAt = new Set(updates.map((u) => u.record?.finishedAt).filter(Boolean));
    expect(finishedAt.size).toBe(1);
    const final = await stores[1]!.get('big');
    const failed = volumes.filter((_, i) => state(i) === 'failed').length;
    const skipped = volumes.filter((_, i) => state(i) === 'skipped').length;
    expect(final).toMatchObject({
      state: 'partial',
      counts: { total: 60, failed, skipped, succeeded: 60 - failed - skipped, pending: 0 },
    });
    expect(final?.volumes.every((v) => v.attempts === 1)).toBe(true);
  });

  it('throws for an unknown run and for a volume the run does not have', async () => {
    const { store } = newStore();
    await expect(store.updateVolume('nope', { volume: 'db', state: 'succeeded' })).rejects.toThrow(
      RunNotFoundError,
    );
    await store.start(run('r1'));
    await expect(store.updateVolume('r1', { volume: 'web', state: 'succeeded' })).rejects.toThrow(
      UnknownRunVolumeError,
    );
    const bogus = { volume: 'db', state: 'done' } as unknown as VolumeRunResult;
    await expect(store.updateVolume('r1', bogus)).rejects.toThrow(TypeError);
  });

  it('answers get() for an unknown run with undefined', async () => {
    const { store } = newStore();
    expect(await store.get('nope')).toBeUndefined();
  });
});

describe('RunStore lastVolumeResult', () => {
  it('finds what reading the volume’s newest runs whole finds, reading one field of each', async () => {
    const state = fc.constantFrom<VolumeRunState>('pending', 'succeeded', 'failed', 'skipped');
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            volumes: fc.subarray(['db', 'cache'], { minLength: 1 }),
            db: state,
            cache: state,
            kind: fc.constantFrom('scheduled' as const, 'on-demand' as const),
          }),
          { maxLength: 8 },
        ),
        fc.integer({ min: 1, max: 6 }),
        async (runs, limit) => {
          const { store } = newStore();
          for (const [i, r] of runs.entries()) {
            const id = `r${i}`;
            const at = new Date(T0 + i * HOUR);
            await store.start(run(id, { volumes: r.volumes, kind: r.kind, scheduledAt: at }));
            for (const volume of r.volumes) {
              const s = volume === 'db' ? r.db : r.cache;
              if (s === 'pending') continue;
              await store.updateVolume(id, {
                volume,
                state: s,
                ...(s === 'failed' ? { error: 'x' } : {}),
              });
            }
          }
          for (const volume of ['db', 'cache', 'absent']) {
            const page = await store.list({ volume: `shop/${volume}`, limit });
            const expected = page.items
              .map((r) => ({ r, own: r.volumes.find((v) => v.volume === volume) }))
              .find(({ own }) => own && ['succeeded', 'failed', 'skipped'].includes(own.state));
            const last = await store.lastVolumeResult('shop', volume, limit);
            expect(last?.runId).toBe(expected?.r.id);
            if (expected && last) {
              expect(last.result).toEqual(expected.own);
              expect(last.kind).toBe(expected.r.kind);
              expect(last.scheduledAt).toBe(expected.r.scheduledAt);
              expect(last.finishedAt).toBe(expected.r.finishedAt);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('RunStore applyVolumeResult with effects (a job’s last step)', () => {
  const event = (type: 'snapshot.ready' | 'snapshot.deleted', snapshot: string) => ({
    type,
    outcome: 'succeeded' as const,
    trigger: 'schedule',
    runId: 'r1',
    volume: 'db',
    snapshot,
  });

  function setup() {
    const { prefix, store } = newStore();
    const audit = new AuditLog(redis, { prefix });
    const lease = (name: string, owner: string) => ({ key: `${prefix}lease:${name}`, owner });
    return { prefix, store, audit, lease };
  }

  it('writes the events, the result and the releases in one step, events first', async () => {
    const { prefix, store, audit, lease } = setup();
    await store.start(run('r1', { volumes: ['db'] }));
    await redis.set(lease('lock', 'job-1').key, 'job-1');
    await redis.set(lease('marker', 'job-1').key, 'job-1');
    const events = audit.batch([event('snapshot.ready', 's1'), event('snapshot.deleted', 's0')]);
    const update = await store.applyVolumeResult(
      'r1',
      { volume: 'db', state: 'succeeded', snapshot: 's1' },
      new Date(T0),
      { events, release: [lease('lock', 'job-1'), lease('marker', 'job-1')] },
    );
    expect(update.outcome).toBe('finished');
    expect(update.record?.volumes[0]).toMatchObject({ state: 'succeeded', snapshot: 's1' });
    const written = await audit.query({ order: 'asc' });
    expect(written.items.map((e) => [e.type, e.snapshot])).toEqual([
      ['snapshot.ready', 's1'],
      ['snapshot.deleted', 's0'],
    ]);
    expect(await redis.exists(`${prefix}lease:lock`, `${prefix}lease:marker`)).toBe(0);
  });

  it('never releases a lease another job holds now', async () => {
    const { prefix, store, lease } = setup();
    await store.start(run('r1', { volumes: ['db'] }));
    await redis.set(`${prefix}lease:lock`, 'job-2');
    await store.applyVolumeResult('r1', { volume: 'db', state: 'failed' }, new Date(T0), {
      release: [lease('lock', 'job-1')],
    });
    expect(await redis.get(`${prefix}lease:lock`)).toBe('job-2');
    expect((await store.get('r1'))?.state).toBe('failed');
  });

  it('converges when the step runs again (a redelivered job): the result stays, the lease ends', async () => {
    const { prefix, store, audit, lease } = setup();
    await store.start(run('r1'));
    const result: VolumeRunResult = { volume: 'db', state: 'succeeded', snapshot: 's1' };
    const effects = () => ({
      events: audit.batch([event('snapshot.ready', 's1')]),
      release: [lease('lock', 'job-1')],
    });
    expect((await store.applyVolumeResult('r1', result, new Date(T0), effects())).outcome).toBe(
      'updated',
    );
    // The retry took the lock again before it saw the volume recorded.
    await redis.set(`${prefix}lease:lock`, 'job-1');
    const again = { ...result, snapshot: 'other' };
    expect((await store.applyVolumeResult('r1', again, new Date(T0), effects())).outcome).toBe(
      'unchanged',
    );
    expect((await store.get('r1'))?.volumes[0]).toMatchObject({ snapshot: 's1' });
    expect(await redis.exists(`${prefix}lease:lock`)).toBe(0);
    expect((await store.get('r1'))?.counts).toMatchObject({ succeeded: 1, pending: 1 });
  });

  it('appends run.finished in the step that closes the run, after the volume’s events, and only then', async () => {
    const { store, audit } = setup();
    await store.start(run('r1'));
    const end = audit.runEnd({
      runId: 'r1',
      trigger: 'schedule',
      namespace: 'shop',
      policy: 'shop/nightly',
    });
    const db: VolumeRunResult = { volume: 'db', state: 'succeeded', snapshot: 's1' };
    const first = await store.applyVolumeResult('r1', db, new Date(T0), { end });
    expect(first.outcome).toBe('updated');
    expect((await audit.query()).items).toEqual([]);
    const cache: VolumeRunResult = { volume: 'cache', state: 'failed', error: 'quota' };
    const events = audit.batch([{ ...event('snapshot.ready', 's2'), volume: 'cache' }]);
    const closing = await store.applyVolumeResult('r1', cache, new Date(T0 + 5_000), {
      events,
      end,
    });
    expect(closing.outcome).toBe('finished');
    // What the log holds the moment the step returns: a crash right after it loses nothing.
    const written = (await audit.query({ order: 'asc' })).items;
    expect(written.map((e) => e.type)).toEqual(['snapshot.ready', 'run.finished']);
    const { id, ...finished } = written[1]!;
    expect(id).toMatch(/^\d+-\d+$/);
    expect(finished).toEqual({
      type: 'run.finished',
      outcome: 'failed',
      trigger: 'schedule',
      time: new Date(T0 + 5_000).toISOString(),
      policy: 'shop/nightly',
      namespace: 'shop',
      runId: 'r1',
      durationMs: closing.record?.durationMs,
      message: 'partial: 1 succeeded, 1 failed, 0 skipped',
    });
    const again = await store.applyVolumeResult('r1', cache, new Date(T0 + 9_000), { end });
    expect(again.outcome).toBe('unchanged');
    expect((await audit.query()).items.filter((e) => e.type === 'run.finished')).toHaveLength(1);
  });

  it('announces every run exactly once, with its final counts, whatever the order, duplicates and states', async () => {
    const final = fc.constantFrom<VolumeRunState>('succeeded', 'failed', 'skipped');
    await fc.assert(
      fc.asyncProperty(
        fc.array(final, { minLength: 1, maxLength: 6 }),
        fc.array(fc.record({ volume: fc.nat(), early: fc.boolean() }), { maxLength: 12 }),
        async (states, picks) => {
          const { store, audit } = setup();
          const volumes = states.map((_, i) => `v${i}`);
          await store.start(run('r1', { volumes, policy: undefined }));
          const end = audit.runEnd({ runId: 'r1', trigger: 'cli', namespace: 'shop' });
          // Reports in an order the picks decide: progress ('running') or the final result,
          // duplicates included; then every volume's final result once more.
          const reports = [
            ...picks.map(({ volume, early }) => ({ i: volume % volumes.length, early })),
            ...volumes.map((_, i) => ({ i, early: false })),
          ];
          for (const { i, early } of reports) {
            const result: VolumeRunResult = {
              volume: volumes[i]!,
              state: early ? 'running' : states[i]!,
            };
            await store.applyVolumeResult('r1', result, new Date(T0), { end });
          }
          const record = await store.get('r1');
          const announced = (await audit.query()).items.filter((e) => e.type === 'run.finished');
          expect(announced).toHaveLength(1);
          const { succeeded, failed, skipped } = record!.counts;
          expect(announced[0]).toMatchObject({
            outcome: record!.state === 'succeeded' ? 'succeeded' : 'failed',
            runId: 'r1',
            trigger: 'cli',
            namespace: 'shop',
            message: `${record!.state}: ${succeeded} succeeded, ${failed} failed, ${skipped} skipped`,
            durationMs: record!.durationMs,
          });
          expect(announced[0]).not.toHaveProperty('policy');
        },
      ),
      { numRuns: 60 },
    );
  });

  it('still writes the events and releases the leases when the run is gone', async () => {
    const { prefix, store, audit, lease } = setup();
    await redis.set(`${prefix}lease:lock`, 'job-1');
    const effects = {
      events: audit.batch([event('snapshot.deleted', 's0')]),
      release: [lease('lock', 'job-1')],
    };
    await expect(
      store.applyVolumeResult('gone', { volume: 'db', state: 'failed' }, new Date(T0), effects),
    ).rejects.toThrow(RunNotFoundError);
    expect((await audit.query()).items.map((e) => e.type)).toEqual(['snapshot.deleted']);
    expect(await redis.exists(`${prefix}lease:lock`)).toBe(0);
  });
});

describe('RunStore list', () => {
  async function seed(store: RunStore): Promise<RunRecord[]> {
    const records: RunRecord[] = [];
    for (let i = 0; i < 24; i++) {
      const policy = i % 3 === 0 ? 'shop/hourly' : 'shop/nightly';
      const namespace = i % 4 === 0 ? 'billing' : 'shop';
      const kind = i % 5 === 0 ? 'on-demand' : 'scheduled';
      const input = run(`run-${String(i).padStart(2, '0')}`, {
        policy,
        namespace,
        kind,
        scheduledAt: new Date(T0 + i * HOUR),
        volumes: i % 2 === 0 ? ['db'] : ['db', 'cache'],
      });
      await store.start(input);
      const state: VolumeRunState = i % 6 === 0 ? 'failed' : 'succeeded';
      let record = await store.updateVolume(input.id, { volume: 'db', state });
      if (i % 2 === 1 && i % 7 !== 0)
        record = await store.updateVolume(input.id, { volume: 'cache', state: 'succeeded' });
      records.push(record);
    }
    return records.reverse();
  }

  it.each<[string, RunFilter, (r: RunRecord) => boolean]>([
    ['nothing', {}, () => true],
    ['policy', { policy: 'shop/hourly' }, (r) => r.policy === 'shop/hourly'],
    ['namespace', { namespace: 'billing' }, (r) => r.namespace === 'billing'],
    [
      'namespaced volume',
      { volume: 'shop/cache' },
      (r) => r.namespace === 'shop' && r.volumes.length === 2,
    ],
    [
      'volume with namespace',
      { volume: 'db', namespace: 'billing' },
      (r) => r.namespace === 'billing',
    ],
    ['bare volume in any namespace', { volume: 'cache' }, (r) => r.volumes.length === 2],
    ['kind', { kind: 'on-demand' }, (r) => r.kind === 'on-demand'],
    ['state', { state: 'failed' }, (r) => r.state === 'failed'],
    [
      'several states',
      { state: ['running', 'partial'] },
      (r) => r.state === 'running' || r.state === 'partial',
    ],
    [
      'time range',
      { since: new Date(T0 + 5 * HOUR), until: new Date(T0 + 9 * HOUR) },
      (r) =>
        Date.parse(r.scheduledAt) >= T0 + 5 * HOUR && Date.parse(r.scheduledAt) < T0 + 9 * HOUR,
    ],
    [
      'policy and state together',
      { policy: 'shop/nightly', state: 'succeeded', volume: 'shop/db' },
      (r) => r.policy === 'shop/nightly' && r.state === 'succeeded' && r.namespace === 'shop',
    ],
  ])('filters by %s, newest first', async (_name, filter, expected) => {
    const { store } = newStore();
    const records = await seed(store);
    const wanted = records.filter(expected);
    expect(wanted.length).toBeGreaterThan(0);
    expect(idsOf((await listAll(store, { ...filter, limit: 4 })).runs)).toEqual(idsOf(wanted));
  });

  it('pages without gaps or duplicates, also through many runs of one tick', async () => {
    const { store } = newStore();
    const ids: string[] = [];
    for (let batch = 0; batch < 3; batch++) {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => {
          const id = `t${batch}-p${String(i).padStart(2, '0')}`;
          ids.push(id);
          return store.start(run(id, { scheduledAt: new Date(T0 + batch * HOUR), volumes: [] }));
        }),
      );
    }
    const expected = [...ids].sort().reverse();
    const { runs, pages } = await listAll(store, { limit: 7 });
    expect(idsOf(runs)).toEqual(expected);
    expect(pages).toBe(18);
  });

  it('bounds the work of a selective listing and hands back a cursor', async () => {
    const prefix = `test:${randomUUID()}:`;
    const store = new RunStore(redis, { prefix, scan: { batchSize: 10, maxBatches: 2 } });
    for (let i = 0; i < 60; i++) {
      await store.start(
        run(`r${i}`, { kind: i === 0 ? 'restore' : 'scheduled', scheduledAt: new Date(T0 + i) }),
      );
    }
    // Each call reads at most 2 batches of 10 runs: 60 runs take 3 calls, plus one finding the end.
    const first = await store.list({ kind: 'restore', limit: 5 });
    expect(first.items).toEqual([]);
    expect(first.nextCursor).toBeDefined();
    const { runs, pages } = await listAll(store, { kind: 'restore', limit: 5 });
    expect(idsOf(runs)).toEqual(['r0']);
    expect(pages).toBe(4);
  });

  it('rejects a malformed cursor with InvalidQueryError naming the cursor', async () => {
    const { store } = newStore();
    await expect(store.list({ cursor: 'x' })).rejects.toThrow(InvalidQueryError);
    await expect(
      store.list({ cursor: Buffer.from('r:12:x').toString('base64url') }),
    ).rejects.toMatchObject({
      field: 'cursor',
    });
  });
});

describe('RunStore bounds', () => {
  it('keeps at most maxRuns, dropping the oldest runs and their index entries', async () => {
    const { store, prefix } = newStore({ maxRuns: 20 });
    for (let i = 0; i < 50; i++) {
      await store.start(
        run(`r${String(i).padStart(2, '0')}`, { scheduledAt: new Date(T0 + i * HOUR) }),
      );
    }
    const { runs } = await listAll(store, { limit: 500 });
    expect(idsOf(runs)).toEqual(Array.from({ length: 20 }, (_, i) => `r${49 - i}`));
    expect(await store.get('r00')).toBeUndefined();
    expect(await redis.exists(auditKeys.run(prefix, 'r29'))).toBe(0);
    expect(await redis.zcard(auditKeys.policyRuns(prefix, 'shop/nightly'))).toBe(20);
    expect(await redis.zcard(auditKeys.volumeRuns(prefix, 'shop', 'db'))).toBe(20);
  });

  it('trims in batches: a history over its bound by less than 1% waits for the next trim', async () => {
    const { store, prefix } = newStore({ maxRuns: 200 });
    for (let i = 0; i < 202; i++)
      await store.start(run(`r${i}`, { scheduledAt: new Date(T0 + i), volumes: [] }));
    expect(await redis.zcard(auditKeys.runs(prefix))).toBe(202);
    await store.start(run('one-more', { scheduledAt: new Date(T0 + 1_000), volumes: [] }));
    expect(await redis.zcard(auditKeys.runs(prefix))).toBe(200);
    expect(await store.trim()).toBe(0);
  });

  it('concurrent trims in one process share one pass', async () => {
    const { store, prefix } = newStore({ maxRuns: 100 });
    const unbounded = new RunStore(redis, { prefix, maxRuns: 10_000 });
    for (let i = 0; i < 150; i++)
      await unbounded.start(run(`r${i}`, { scheduledAt: new Date(T0 + i), volumes: ['db'] }));
    const zrangeCalls = async () => {
      const stats = await redis.info('commandstats');
      return Number(/cmdstat_zrange:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    };
    const before = await zrangeCalls();
    const removed = await Promise.all([store.trim(), store.trim(), store.trim()]);
    expect(removed).toEqual([50, 50, 50]);
    expect((await zrangeCalls()) - before).toBe(1);
    expect(await redis.zcard(auditKeys.runs(prefix))).toBe(100);
    expect(await redis.zcard(auditKeys.volumeRuns(prefix, 'shop', 'db'))).toBe(100);
    // A later call starts a pass of its own.
    expect(await store.trim()).toBe(0);
    expect((await zrangeCalls()) - before).toBe(1);
  });
});

describe('RunStore dailyCounts', () => {
  it('counts finished runs per day in the time zone, every day listed', async () => {
    const { store } = newStore();
    const berlin = (iso: string) => new Date(iso);
    const seed: [string, string, 'missed' | 'skipped' | VolumeRunState | undefined][] = [
      ['a', '2025-03-29T23:30:00+01:00', 'succeeded'],
      ['b', '2025-03-30T00:30:00+01:00', 'failed'],
      ['c', '2025-03-30T23:30:00+02:00', 'missed'],
      ['d', '2025-03-31T12:00:00+02:00', undefined],
      ['e', '2025-03-31T13:00:00+02:00', 'skipped'],
    ];
    for (const [id, at, outcome] of seed) {
      const terminal = outcome === 'missed' || outcome === 'skipped' ? outcome : undefined;
      await store.start(
        run(id, {
          scheduledAt: berlin(at),
          volumes: ['db'],
          ...(terminal ? { state: terminal } : {}),
        }),
      );
      if (outcome === 'succeeded' || outcome === 'failed')
        await store.updateVolume(id, { volume: 'db', state: outcome });
    }
    const days = await store.dailyCounts(
      berlin('2025-03-29T00:00:00+01:00'),
      berlin('2025-04-01T00:00:00+02:00'),
      'Europe/Berlin',
    );
    expect(days).toEqual([
      { day: '2025-03-29', succeeded: 1, failed: 0, partial: 0, missed: 0, skipped: 0 },
      { day: '2025-03-30', succeeded: 0, failed: 1, partial: 0, missed: 1, skipped: 0 },
      { day: '2025-03-31', succeeded: 0, failed: 0, partial: 0, missed: 0, skipped: 1 },
    ]);
    const utc = await store.dailyCounts(
      new Date('2025-03-29T00:00Z'),
      new Date('2025-04-01T00:00Z'),
    );
    expect(utc.map((d) => [d.day, d.succeeded + d.failed + d.missed + d.skipped])).toEqual([
      ['2025-03-29', 2],
      ['2025-03-30', 1],
      ['2025-03-31', 1],
    ]);
    await expect(
      store.dailyCounts(new Date(T0), new Date(T0 + HOUR), 'Nowhere/Land'),
    ).rejects.toMatchObject({
      field: 'timeZone',
    });
  });
});

describe('RunStore latest finished run per policy', () => {
  it('finds each policy’s newest finished run among thousands of other runs, running ones left out', async () => {
    const { prefix, store } = newStore();
    await store.start(run('quiet-old', { policy: 'shop/quiet', volumes: ['q'] }));
    await store.updateVolume('quiet-old', { volume: 'q', state: 'failed', error: 'old' });
    const quiet = { policy: 'shop/quiet', volumes: ['q'], scheduledAt: new Date(T0 + HOUR) };
    await store.start(run('quiet-new', quiet));
    await store.updateVolume('quiet-new', { volume: 'q', state: 'succeeded' });
    // Finishing an older run later must not move the pointer back.
    await store.start(run('quiet-older', { policy: 'shop/quiet', volumes: ['q'] }));
    await store.updateVolume('quiet-older', { volume: 'q', state: 'failed' });
    const busy = Array.from({ length: 1_200 }, (_, i) =>
      run(`busy-${i}`, {
        policy: `shop/busy-${i % 3}`,
        volumes: [],
        scheduledAt: new Date(T0 + 2 * HOUR + i * 1000),
      }),
    );
    for (const input of busy) await store.start(input);
    await store.start(
      run('quiet-running', { ...quiet, scheduledAt: new Date(T0 + 3 * HOUR), id: 'quiet-running' }),
    );
    await store.start(
      run('missed', { policy: 'shop/missed', state: 'missed', message: 'down', volumes: ['m'] }),
    );

    const latest = await store.latestFinished([
      'shop/quiet',
      'shop/busy-2',
      'shop/missed',
      'x/none',
    ]);
    expect(latest.get('shop/quiet')?.id).toBe('quiet-new');
    expect(latest.get('shop/quiet')?.state).toBe('succeeded');
    expect(latest.get('shop/busy-2')?.id).toBe('busy-1199');
    expect(latest.get('shop/missed')?.state).toBe('missed');
    expect(latest.has('x/none')).toBe(false);
    expect(await redis.hget(auditKeys.latestRuns(prefix), 'shop/quiet')).toContain('quiet-new');
  }, 60_000);

  it('falls back to the policy index when the pointer is gone', async () => {
    const { prefix, store } = newStore();
    await store.start(run('a', { volumes: [] }));
    await redis.del(auditKeys.latestRuns(prefix));
    expect((await store.latestFinished(['shop/nightly'])).get('shop/nightly')?.id).toBe('a');
  });
});
