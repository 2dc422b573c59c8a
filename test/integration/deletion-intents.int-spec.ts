import fc from 'fast-check';
import { SnapshotService, TickService, type EngineDeps, type StoredPolicy } from '#lib/engine';
import type { AuditEventType } from '#lib/audit';
import type { TickJobData } from '#lib/queues';
import { MemoryDriver, type SnapshotDriver } from '#lib/storage';
import { createEngineHarness, tierPolicy, type EngineHarness } from '../support/engine-harness.js';
import { useTestRedis } from '../support/suite-redis.js';

const VOLUME = { namespace: 'default', name: 'db-0' };
const HOUR = 3_600_000;

const redis = useTestRedis();

/** The volume's hourly policy, keeping the last `keepLast` snapshots. */
function nightly(harness: EngineHarness, keepLast: number) {
  return harness.addPolicy(tierPolicy('nightly', { retention: { keepLast } }));
}

/** The snapshot jobs of the policy's tick at `at`. */
function runTick(deps: EngineDeps, stored: StoredPolicy, at: Date) {
  const tick: TickJobData = { policyKey: stored.key, specHash: stored.specHash };
  return new TickService(deps).handle(tick, at);
}

/**
 * The memory driver, except that its call number `killAt` (counting from 0) does its work and
 * then never returns: the worker dies right after that call, and nothing after it runs in
 * this attempt until `release` (the end of the test, to unwind the attempt).
 */
function dyingDriver(inner: MemoryDriver, killAt: number, release: Promise<never>) {
  let calls = 0;
  let reached = false;
  const driver = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (calls++ !== killAt) return result;
        reached = true;
        return Promise.resolve(result).then(() => release);
      };
    },
  }) as SnapshotDriver;
  return { driver, reached: () => reached };
}

/**
 * A rotating snapshot job killed after any one of its driver calls, then run again (a retry,
 * as the queue redelivers a dead worker's job): every snapshot that is gone has exactly one
 * `snapshot.deleted` event, none still there has one, no deletion is left owed, and the run
 * succeeded. Before deletions were written ahead, a kill right after a rotation's deletion
 * lost its event.
 */
describe('deletions of a killed worker', () => {
  async function deletedEvents(harness: EngineHarness, snapshot: string) {
    const page = await harness.deps.audit.query({ snapshot, type: 'snapshot.deleted' });
    return page.items.length;
  }

  it('are reported once by the next attempt, wherever the worker died', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 1, max: 3 }),
        async (killAt, keepLast) => {
          const memory = new MemoryDriver();
          memory.addVolume({ ...VOLUME, labels: { tier: 'db' } });
          const harness = createEngineHarness({ redisUrl: redis().url, driver: memory });
          let unwind: (error: Error) => void = () => undefined;
          const release = new Promise<never>((_, reject) => (unwind = reject));
          release.catch(() => undefined);
          try {
            const stored = await nightly(harness, keepLast);
            const first = Date.UTC(2026, 10, 1, 0);
            // Enough earlier runs that the killed one rotates.
            for (let t = 0; t <= keepLast; t++) {
              for (const job of await runTick(harness.deps, stored, new Date(first + t * HOUR))) {
                await new SnapshotService(harness.deps).run(job.data, job.id);
              }
            }
            const before = (await memory.listSnapshots(VOLUME)).map((s) => s.name);
            const at = new Date(first + (keepLast + 1) * HOUR);
            const [job] = await runTick(harness.deps, stored, at);
            if (!job) throw new Error('the tick admitted no job');
            const dying = dyingDriver(memory, killAt, release);
            const attempt = new SnapshotService({ ...harness.deps, driver: dying.driver })
              .run(job.data, job.id, { redelivered: false })
              .then(
                () => 'finished',
                () => 'failed',
              );
            // Wait until the worker reached its kill point, or finished before it.
            let outcome: string | undefined;
            void attempt.then((o) => (outcome = o));
            while (!dying.reached() && outcome === undefined) {
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
            if (outcome === undefined) {
              const retry = await new SnapshotService(harness.deps).run(job.data, job.id);
              expect(retry.kind).toBe('done');
            }
            const now = new Set((await memory.listSnapshots(VOLUME)).map((s) => s.name));
            for (const name of before) {
              expect([name, await deletedEvents(harness, name)]).toEqual([
                name,
                now.has(name) ? 0 : 1,
              ]);
            }
            expect([...(await harness.deps.deletions.owed(VOLUME)).keys()]).toEqual([]);
            const run = await harness.deps.runs.get(job.data.runId);
            expect(run?.state).toBe('succeeded');
            expect(now.has(job.data.snapshotName)).toBe(true);
          } finally {
            unwind(new Error('the killed worker is gone'));
            await new Promise((resolve) => setTimeout(resolve, 20));
            await harness.close();
            await memory.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

/**
 * The memory driver, except that its delete call number `failAt` (counting from 0) fails:
 * `before` the provider acted (the snapshot stays) or `after` it deleted the snapshot (a lost
 * response).
 */
function failingDeletes(inner: MemoryDriver, failAt: number, when: 'before' | 'after') {
  let deletes = 0;
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== 'deleteSnapshot' || typeof value !== 'function') {
        return typeof value === 'function' ? (value.bind(target) as unknown) : value;
      }
      return async (ref: { namespace: string; name: string }) => {
        if (deletes++ !== failAt) return target.deleteSnapshot(ref);
        if (when === 'after') await target.deleteSnapshot(ref);
        throw new Error(`connection reset while deleting ${ref.name}`);
      };
    },
  }) as SnapshotDriver;
}

/**
 * A deletion call that fails is reported by what became of the snapshot: deleted (with the
 * error) when it is gone, `snapshot.delete-failed` when it is still there. Both paths: freeing
 * a slot under the cap before creating, and rotation after the new snapshot is ready. Before,
 * a deletion whose response was lost was reported failed while the snapshot was gone.
 */
describe('deletions whose call fails', () => {
  async function eventsOf(harness: EngineHarness, type: AuditEventType) {
    const page = await harness.deps.audit.query({ type, limit: 500 });
    return page.items;
  }

  it('are reported as what happened to the snapshot', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(2, 3, 7),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1 }),
        fc.constantFrom('before' as const, 'after' as const),
        async (cap, keepLast, failAt, when) => {
          const memory = new MemoryDriver({ maxSnapshotsPerVolume: cap });
          memory.addVolume({ ...VOLUME, labels: { tier: 'db' } });
          const harness = createEngineHarness({ redisUrl: redis().url, driver: memory });
          try {
            const stored = await nightly(harness, keepLast);
            const tick = (hour: number) =>
              runTick(harness.deps, stored, new Date(Date.UTC(2026, 10, 1) + hour * HOUR));
            // The volume full up to the cap, or up to keepLast + 1, whichever is less.
            const service = new SnapshotService(harness.deps);
            for (let t = 0; t < Math.min(cap, keepLast + 1); t++) {
              for (const job of await tick(t)) await service.run(job.data, job.id);
            }
            const before = (await memory.listSnapshots(VOLUME)).map((s) => s.name);
            const [job] = await tick(10);
            if (!job) throw new Error('the tick admitted no job');
            const faulty = new SnapshotService({
              ...harness.deps,
              driver: failingDeletes(memory, failAt, when),
            });
            const outcome = await faulty.run(job.data, job.id, { redelivered: false }).then(
              () => 'done',
              () => 'threw',
            );

            const now = new Set((await memory.listSnapshots(VOLUME)).map((s) => s.name));
            const deleted = (await eventsOf(harness, 'snapshot.deleted')).map((e) => e.snapshot);
            const failed = (await eventsOf(harness, 'snapshot.delete-failed')).map(
              (e) => e.snapshot,
            );
            for (const name of before) {
              const times = deleted.filter((n) => n === name).length;
              expect([name, times]).toEqual([name, now.has(name) ? 0 : 1]);
              if (!now.has(name)) expect(failed).not.toContain(name);
            }
            for (const name of failed) expect(now.has(name ?? '')).toBe(true);
            // A failure that left its snapshot fails the attempt; one that deleted it does not.
            if (outcome === 'threw') expect(failed).toHaveLength(1);
            else expect(failed).toEqual([]);
            expect([...(await harness.deps.deletions.owed(VOLUME)).keys()]).toEqual([]);
          } finally {
            await harness.close();
            await memory.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
