import type { SnapshotJobRequest } from './tick.service.js';
import { decodeAdmission, encodeAdmission } from './tick-admission.js';

function job(
  name: string,
  overrides: Partial<SnapshotJobRequest['data']> = {},
): SnapshotJobRequest {
  return {
    id: `snap_${name}`,
    delayMs: 1500,
    data: {
      runId: 'sched_shop.nightly_1767225600000',
      policyKey: 'shop/nightly',
      volume: { namespace: 'shop', name, uid: `uid-${name}` },
      snapshotName: `nightly-${name}-20260101t000000z`,
      scheduledAt: '2026-01-01T00:00:00.000Z',
      trigger: 'schedule',
      concurrencyPolicy: 'Forbid',
      ...overrides,
    },
  };
}

describe('tick admission', () => {
  it('reads back the jobs it stored, in order', () => {
    const jobs = [job('db-0'), job('db-1'), job('db-2')];
    expect(decodeAdmission(encodeAdmission({ jobs }))).toEqual({ jobs });
  });

  it('stores the fields the jobs share once', () => {
    const jobs = Array.from({ length: 100 }, (_, i) => job(`db-${i}`));
    const text = encodeAdmission({ jobs });
    expect(text.length).toBeLessThan(JSON.stringify({ jobs }).length / 2);
  });

  it('stores jobs that differ in a shared field whole', () => {
    const jobs = [job('db-0'), job('db-1', { trigger: 'manual' })];
    expect(decodeAdmission(encodeAdmission({ jobs }))).toEqual({ jobs });
  });

  it('reads the whole layout and an empty or missing admission', () => {
    const jobs = [job('db-0')];
    expect(decodeAdmission(JSON.stringify({ jobs }))).toEqual({ jobs });
    expect(decodeAdmission(encodeAdmission({ jobs: [] }))).toEqual({ jobs: [] });
    expect(decodeAdmission(undefined)).toEqual({ jobs: [] });
  });
});
