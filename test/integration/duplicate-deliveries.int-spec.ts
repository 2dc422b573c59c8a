import { SnapshotService, TickService, type SnapshotStep } from '#lib/engine';
import { MemoryDriver } from '#lib/storage';
import { createEngineHarness, tierPolicy, type EngineHarness } from '../support/engine-harness.js';
import { useTestRedis } from '../support/suite-redis.js';
import { wrappedCreates } from '../support/wrapped-creates.js';

const VOLUME = { namespace: 'default', name: 'db-0' };

/** The memory driver, with every creation held at a gate until `open()`. */
function gatedCreates(inner: MemoryDriver) {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let creates = 0;
  const driver = wrappedCreates(inner, async (target, ...args) => {
    creates++;
    await gate;
    return target.createSnapshot(...args);
  });
  return { driver, open, creates: () => creates };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A worker that loses its job's queue lock (a long pause) keeps running while the queue hands
 * the job to another worker: two deliveries of one job id at once. The volume lock is held by
 * one delivery (BullMQ's token), so the second finds the volume busy and is handed back, and
 * its next delivery finds the volume recorded. Before, both held the lock under the job id and
 * worked on the volume together.
 */
describe('two deliveries of one snapshot job at once', () => {
  const redis = useTestRedis();
  let harness: EngineHarness;
  let memory: MemoryDriver;

  beforeEach(() => {
    memory = new MemoryDriver();
    memory.addVolume({ ...VOLUME, labels: { tier: 'db' } });
    harness = createEngineHarness({ redisUrl: redis().url, driver: memory });
  });
  // Before the suite's redis-server stops (afterAll).
  afterEach(async () => {
    await harness.close();
    await memory.close();
  });

  it('let one work on the volume and hand the other back as busy', async () => {
    const stored = await harness.addPolicy(tierPolicy('nightly', { retention: { keepLast: 2 } }));
    const [job] = await new TickService(harness.deps).handle(
      { policyKey: stored.key, specHash: stored.specHash },
      new Date(Date.UTC(2026, 10, 1)),
    );
    if (!job) throw new Error('the tick admitted no job');
    const gated = gatedCreates(memory);
    const service = new SnapshotService({ ...harness.deps, driver: gated.driver });

    const first = service.run(job.data, job.id, { redelivered: false, attempt: 'token-1' });
    let second: SnapshotStep | undefined;
    const deliveries: Promise<unknown>[] = [first];
    try {
      await until(() => gated.creates() === 1, 'the first delivery to create');
      const again = service.run(job.data, job.id, { redelivered: true, attempt: 'token-2' });
      deliveries.push(again.then((step) => (second = step)));
      // The second delivery either comes back at once or reaches the driver too.
      await until(() => second !== undefined || gated.creates() > 1, 'the second delivery');
      expect(gated.creates()).toBe(1);
      expect(second).toMatchObject({ kind: 'wait', reason: 'volume-busy' });
    } finally {
      // Whatever the outcome, no delivery is left waiting at the gate.
      gated.open();
      await Promise.allSettled(deliveries);
    }
    expect((await first).kind).toBe('done');
    const next = await service.run(job.data, job.id, { redelivered: true, attempt: 'token-3' });
    expect(next).toMatchObject({ kind: 'done', result: { outcome: 'skipped' } });
    expect(gated.creates()).toBe(1);
    const run = await harness.deps.runs.get(job.data.runId);
    expect(run?.volumes).toEqual([expect.objectContaining({ volume: 'db-0', state: 'succeeded' })]);
    const started = await harness.deps.audit.query({ type: 'snapshot.started' });
    expect(started.items).toHaveLength(1);
  });
});
