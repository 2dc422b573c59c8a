import type { RunRecord } from '#lib/audit';
import { parseBackupPolicy, type BackupPolicy } from '#lib/policy';
import {
  appliedPolicyStatus,
  invalidPolicyStatus,
  runEndStatus,
  statusDiffers,
} from './policy-status.js';
import { PolicyStatusObserver, type PolicyStatusPort } from './policy-status.observer.js';

const NOW = new Date('2026-03-01T10:00:00Z');

function policy(spec: Record<string, unknown> = {}): BackupPolicy {
  const parsed = parseBackupPolicy(
    {
      apiVersion: 'snapwarden.io/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name: 'nightly', namespace: 'shop', uid: 'u-1', generation: 3 },
      spec: { schedule: '0 2 * * *', claimNames: ['db'], retention: { keepLast: 3 }, ...spec },
    },
    { defaultDriver: 'csi', maxSnapshotsPerVolume: () => 7 },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
}

function run(state: RunRecord['state'], failedError?: string): RunRecord {
  return {
    id: 'sched_shop/nightly_1',
    kind: 'scheduled',
    policy: 'shop/nightly',
    namespace: 'shop',
    trigger: 'schedule',
    scheduledAt: '2026-03-01T02:00:00.000Z',
    createdAt: '2026-03-01T02:00:00.100Z',
    finishedAt: '2026-03-01T02:00:05.000Z',
    state,
    volumes: [
      { volume: 'a', state: 'succeeded' },
      ...(failedError ? [{ volume: 'b', state: 'failed' as const, error: failedError }] : []),
    ],
    counts: {
      total: failedError ? 2 : 1,
      succeeded: 1,
      failed: failedError ? 1 : 0,
      skipped: 0,
      pending: 0,
    },
  };
}

describe('policy status', () => {
  it('is Ready and Scheduled with the next run for a valid policy', () => {
    const status = appliedPolicyStatus(policy(), 'shop/nightly', NOW);
    expect(status.observedGeneration).toBe(3);
    expect(status.nextRunTime).toBe('2026-03-02T02:00:00.000Z');
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: 'Ready', status: 'True' }),
      expect.objectContaining({ type: 'Scheduled', status: 'True', reason: 'Scheduled' }),
    ]);
  });

  it('is not Scheduled and has no next run when suspended', () => {
    const status = appliedPolicyStatus(policy({ suspend: true }), 'shop/nightly', NOW);
    expect(status.nextRunTime).toBeNull();
    expect(status.conditions?.[1]).toMatchObject({ status: 'False', reason: 'Suspended' });
  });

  it('names the invalid field in Ready=False InvalidSpec and keeps the other conditions', () => {
    const before = appliedPolicyStatus(policy(), 'shop/nightly', NOW);
    const status = invalidPolicyStatus(
      [{ field: 'spec.retention.keepLast', message: 'must be at least 1' }],
      4,
      NOW,
      before,
    );
    expect(status.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'InvalidSpec',
      message: 'spec.retention.keepLast: must be at least 1',
    });
    expect(status.conditions?.[1]?.type).toBe('Scheduled');
  });

  it('keeps a condition’s transition time while its status holds', () => {
    const first = appliedPolicyStatus(policy(), 'shop/nightly', NOW);
    const later = appliedPolicyStatus(
      policy(),
      'shop/nightly',
      new Date('2026-03-05T00:00:00Z'),
      first,
    );
    expect(later.conditions?.[0]?.lastTransitionTime).toBe(NOW.toISOString());
    expect(statusDiffers(first, { ...later, nextRunTime: first.nextRunTime })).toBe(false);
    expect(statusDiffers(first, later)).toBe(true);
  });

  it('records the last success only for a succeeded run', () => {
    expect(runEndStatus(run('succeeded'), undefined)).toMatchObject({
      lastRunTime: '2026-03-01T02:00:00.000Z',
      lastSuccessTime: '2026-03-01T02:00:00.000Z',
      lastRun: {
        id: 'sched_shop/nightly_1',
        result: 'Succeeded',
        volumes: { total: 1, succeeded: 1 },
      },
    });
    expect(
      runEndStatus(run('partial', 'limit reached'), undefined).lastSuccessTime,
    ).toBeUndefined();
  });
});

describe('PolicyStatusObserver', () => {
  function observer(
    port: PolicyStatusPort,
    errors: unknown[] = [],
    swapLastEvent?: (policyKey: string, event: string) => Promise<string | undefined>,
  ) {
    const stored = {
      key: 'shop/nightly',
      uid: 'u-1',
      policy: policy(),
      specHash: 'h',
      source: 's',
      appliedAt: '',
    };
    return new PolicyStatusObserver({
      policies: { get: () => Promise.resolve(stored) },
      port,
      countMissed: () => Promise.resolve(2),
      swapLastEvent,
      clock: () => NOW,
      onError: (error) => errors.push(error),
    });
  }

  it('writes the run into the status and a RunFailed event naming the first error', async () => {
    const calls: unknown[] = [];
    const port: PolicyStatusPort = {
      patchStatus: (ref, status) => Promise.resolve(void calls.push({ ref, status })),
      recordEvent: (ref, event) => Promise.resolve(void calls.push({ ref, event })),
    };
    await observer(port).runFinished(run('partial', 'limit reached: 7 of 7'), 'shop/nightly');
    expect(calls[0]).toMatchObject({
      ref: { namespace: 'shop', name: 'nightly', uid: 'u-1' },
      status: { lastRun: { result: 'PartiallyFailed', volumes: { failed: 1 } } },
    });
    expect(calls[1]).toMatchObject({
      event: {
        type: 'Warning',
        reason: 'RunFailed',
        message: expect.stringContaining('b: limit reached: 7 of 7'),
      },
    });
  });

  it('counts missed runs', async () => {
    const statuses: unknown[] = [];
    const port: PolicyStatusPort = {
      patchStatus: (_ref, status) => Promise.resolve(void statuses.push(status)),
      recordEvent: () => Promise.resolve(),
    };
    await observer(port).runFinished({ ...run('missed'), message: 'late' }, 'shop/nightly');
    expect(statuses[0]).toMatchObject({ missedRuns: 2 });
  });

  it('reports a failed status write without throwing, and still records the event', async () => {
    const errors: unknown[] = [];
    const events: unknown[] = [];
    const port: PolicyStatusPort = {
      patchStatus: () => Promise.reject(new Error('409 conflict, retries exhausted')),
      recordEvent: (_ref, event) => Promise.resolve(void events.push(event)),
    };
    await expect(
      observer(port, errors).runFinished(run('succeeded'), 'shop/nightly'),
    ).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(events).toEqual([expect.objectContaining({ reason: 'RunSucceeded' })]);
  });

  it('records a Normal Event when it is news, and every Warning', async () => {
    const reasons: string[] = [];
    const port: PolicyStatusPort = {
      patchStatus: () => Promise.resolve(),
      recordEvent: (_ref, event) => Promise.resolve(void reasons.push(event.reason)),
    };
    const last = new Map<string, string>();
    const swap = (key: string, event: string) => {
      const previous = last.get(key);
      last.set(key, event);
      return Promise.resolve(previous);
    };
    const watcher = observer(port, [], swap);
    const states = ['succeeded', 'succeeded', 'partial', 'partial', 'succeeded', 'succeeded'];
    for (const state of states) {
      await watcher.runFinished(run(state as RunRecord['state'], 'boom'), 'shop/nightly');
    }
    expect(reasons).toEqual(['RunSucceeded', 'RunFailed', 'RunFailed', 'RunSucceeded']);
  });

  it('records the Event when the last one cannot be read', async () => {
    const reasons: string[] = [];
    const port: PolicyStatusPort = {
      patchStatus: () => Promise.resolve(),
      recordEvent: (_ref, event) => Promise.resolve(void reasons.push(event.reason)),
    };
    const watcher = observer(port, [], () => Promise.reject(new Error('redis down')));
    await watcher.runFinished(run('succeeded'), 'shop/nightly');
    await watcher.runFinished(run('succeeded'), 'shop/nightly');
    expect(reasons).toEqual(['RunSucceeded', 'RunSucceeded']);
  });
});
