import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import {
  AUDIT_REDIS_OPTIONS,
  AuditLog,
  RunStore,
  type AuditEvent,
  type RunRecord,
  type VolumeRunState,
} from '#lib/audit';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.js';
import { recordVolumeResult, runEndEvent, type RunRef } from './run-recorder.js';
import type { RunObserver } from './run-observer.js';

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url, AUDIT_REDIS_OPTIONS);
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

function setup() {
  const prefix = `test:${randomUUID()}:`;
  const ended: RunRecord[] = [];
  const runObserver: RunObserver = {
    runFinished: () => Promise.resolve(),
    runEnded: (run) => {
      ended.push(run);
      return Promise.resolve();
    },
  };
  const deps = {
    runs: new RunStore(redis, { prefix }),
    audit: new AuditLog(redis, { prefix }),
    runObserver,
  };
  return { deps, ended };
}

/**
 * An event as the log reports it, without what differs between two runs: id, time, run and
 * duration (checked against each run's own record).
 */
function comparable(event: AuditEvent): Partial<AuditEvent> {
  const differing = new Set(['id', 'time', 'runId', 'durationMs']);
  return Object.fromEntries(Object.entries(event).filter(([field]) => !differing.has(field)));
}

type Deps = ReturnType<typeof setup>['deps'];

/** Lands every volume's result: through recordVolumeResult, or applied, then runEndEvent appended. */
async function closeRun(
  deps: Deps,
  ref: RunRef,
  results: { volume: string; state: VolumeRunState }[],
  viaScript: boolean,
): Promise<void> {
  for (const result of results) {
    if (viaScript) {
      await recordVolumeResult(deps, ref, result);
      continue;
    }
    const update = await deps.runs.applyVolumeResult(ref.runId, result);
    if (update.outcome === 'finished') await deps.audit.append(runEndEvent(ref, update.record!));
  }
}

describe('recordVolumeResult', () => {
  it('writes the run.finished that runEndEvent builds, in the step that closes the run', async () => {
    const state = fc.constantFrom<VolumeRunState>('succeeded', 'failed', 'skipped');
    const ref = fc.record({
      trigger: fc.constantFrom('schedule', 'cli', 'api'),
      namespace: fc.constantFrom('shop', 'kube-system'),
      policyKey: fc.option(fc.constantFrom('shop/nightly', 'shop/ñandú-ü/ünïcødé'), {
        nil: undefined,
      }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(state, { minLength: 1, maxLength: 5 }), ref, async (states, r) => {
        const { deps, ended } = setup();
        const volumes = states.map((_, i) => `data-${i}`);
        const closed: Partial<AuditEvent>[] = [];
        for (const [runId, viaScript] of [
          ['by-script', true],
          ['by-append', false],
        ] as const) {
          await deps.runs.start({
            id: runId,
            kind: 'scheduled',
            policy: r.policyKey,
            namespace: r.namespace,
            trigger: r.trigger,
            scheduledAt: new Date(0),
            volumes,
          });
          const results = volumes.map((volume, i) => ({ volume, state: states[i]! }));
          await closeRun(deps, { runId, ...r }, results, viaScript);
          const events = (await deps.audit.query({ runId })).items;
          expect(events.map((e) => e.type)).toEqual(['run.finished']);
          expect(events[0]!.durationMs).toBe((await deps.runs.get(runId))?.durationMs);
          closed.push(comparable(events[0]!));
        }
        expect(closed[0]).toEqual(closed[1]);
        // The observer heard of the run the step closed, once.
        expect(ended.map((run) => run.id)).toEqual(['by-script']);
      }),
      { numRuns: 40 },
    );
  });
});
