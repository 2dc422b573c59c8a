import {
  refusedRequestCrStatus,
  requestStatusDiffers,
  restoreRequestCrStatus,
  snapshotRequestCrStatus,
} from './request-cr-status.js';
import type { RestoreRecord } from './request-store.js';
import type { SnapshotRequestStatus } from './snapshot-request.service.js';

const T0 = new Date('2026-11-21T10:00:00Z');
const T1 = new Date('2026-11-21T10:00:05Z');

function request(patch: Partial<SnapshotRequestStatus> = {}): SnapshotRequestStatus {
  return {
    namespace: 'shop',
    name: 'pre-upgrade',
    spec: { selector: { matchLabels: { app: 'shop' } }, ttl: '168h', timeoutSeconds: 60 },
    trigger: 'kube',
    createdAt: T0.toISOString(),
    phase: 'Running',
    startedAt: T0.toISOString(),
    runId: 'req_shop.pre-upgrade',
    snapshots: [
      { claim: 'db-0', snapshotName: 'db-0-snap', readyToUse: true, state: 'succeeded' },
      { claim: 'db-1', readyToUse: false, state: 'running' },
    ],
    ...patch,
  };
}

function restore(patch: Partial<RestoreRecord> = {}): RestoreRecord {
  return {
    namespace: 'shop',
    name: 'back',
    spec: {
      snapshotName: 's',
      mode: 'NewVolume',
      target: { claimName: 'db-new' },
      quiesce: 'None',
    },
    trigger: 'kube',
    createdAt: T0.toISOString(),
    phase: 'Pending',
    ...patch,
  };
}

describe('SnapshotRequest status', () => {
  it('reports each claim, the run and Ready Unknown while running', () => {
    const status = snapshotRequestCrStatus(request(), 1, T0);
    expect(status).toMatchObject({
      observedGeneration: 1,
      phase: 'Running',
      runId: 'req_shop.pre-upgrade',
      startTime: T0.toISOString(),
      snapshots: [
        { claim: 'db-0', snapshotName: 'db-0-snap', readyToUse: true, state: 'succeeded' },
        { claim: 'db-1', readyToUse: false, state: 'running' },
      ],
      conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Running' }],
    });
    // No undefined members: a merge patch would not carry them, and comparisons must agree.
    expect(status.snapshots?.[1]).not.toHaveProperty('snapshotName');
    expect(status).not.toHaveProperty('completionTime');
  });

  it('says DeadlineExceeded for a timed-out request and Failed for failed claims', () => {
    const timedOut = snapshotRequestCrStatus(
      request({ phase: 'Failed', timedOut: true, message: 'timed out after 60s; not ready: db-1' }),
      1,
      T1,
    );
    expect(timedOut.conditions?.[0]).toMatchObject({ status: 'False', reason: 'DeadlineExceeded' });
    expect(timedOut.message).toContain('db-1');
    const failed = snapshotRequestCrStatus(
      request({ phase: 'Failed', message: 'failed: db-1' }),
      1,
      T1,
    );
    expect(failed.conditions?.[0]).toMatchObject({ status: 'False', reason: 'Failed' });
    const ok = snapshotRequestCrStatus(request({ phase: 'Succeeded' }), 1, T1);
    expect(ok.conditions?.[0]).toMatchObject({ status: 'True', reason: 'Succeeded' });
  });

  it('keeps the transition time while the condition does not change, and moves it when it does', () => {
    const first = snapshotRequestCrStatus(request(), 1, T0);
    const same = snapshotRequestCrStatus(request(), 1, T1, first);
    expect(same.conditions?.[0]?.lastTransitionTime).toBe(T0.toISOString());
    expect(requestStatusDiffers(first, same)).toBe(false);
    const done = snapshotRequestCrStatus(request({ phase: 'Succeeded' }), 1, T1, first);
    expect(done.conditions?.[0]?.lastTransitionTime).toBe(T1.toISOString());
    expect(requestStatusDiffers(first, done)).toBe(true);
  });
});

describe('RestoreRequest status', () => {
  it('names the broken rule: reason RestoreRuleViolated and the field', () => {
    const status = restoreRequestCrStatus(
      restore({ phase: 'Failed', field: 'spec.target.size', message: 'size too small' }),
      2,
      T1,
    );
    expect(status).toMatchObject({
      phase: 'Failed',
      field: 'spec.target.size',
      conditions: [{ status: 'False', reason: 'RestoreRuleViolated', observedGeneration: 2 }],
    });
    const crashed = restoreRequestCrStatus(restore({ phase: 'Failed', message: 'boom' }), 2, T1);
    expect(crashed.conditions?.[0]?.reason).toBe('Failed');
  });

  it('reports the restored claim on success', () => {
    const status = restoreRequestCrStatus(
      restore({ phase: 'Succeeded', claimName: 'db-new' }),
      1,
      T1,
    );
    expect(status).toMatchObject({ phase: 'Succeeded', claimName: 'db-new' });
    expect(status.conditions?.[0]?.status).toBe('True');
  });
});

describe('refused requests', () => {
  it('names every invalid field and keeps its completion time on later passes', () => {
    const errors = [
      { field: 'spec.ttl', message: 'not a duration' },
      { field: 'spec.claimNames', message: 'too small' },
    ];
    const first = refusedRequestCrStatus('InvalidSpec', errors, 1, T0);
    expect(first).toMatchObject({
      phase: 'Failed',
      field: 'spec.ttl',
      message: 'spec.ttl: not a duration; spec.claimNames: too small',
      completionTime: T0.toISOString(),
      conditions: [{ status: 'False', reason: 'InvalidSpec' }],
    });
    const again = refusedRequestCrStatus('InvalidSpec', errors, 1, T1, first);
    expect(requestStatusDiffers(first, again)).toBe(false);
  });
});

describe('requestStatusDiffers', () => {
  it('ignores key order, as the API server may reorder keys', () => {
    expect(requestStatusDiffers({ b: 1, a: { y: 2, x: 1 } }, { a: { x: 1, y: 2 }, b: 1 })).toBe(
      false,
    );
    expect(requestStatusDiffers(undefined, { phase: 'Pending' })).toBe(true);
  });
});
