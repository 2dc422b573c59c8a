import fc from 'fast-check';
import type { SnapshotJobData } from './payloads.js';
import {
  SNAPSHOT_GROUP_SIZE,
  snapshotGroupId,
  snapshotGroups,
  type VolumeJob,
} from './snapshot-groups.js';

function job(i: number, runId = 'sched_default.nightly_1767225600000', delayMs = 0): VolumeJob {
  const data: SnapshotJobData = {
    runId,
    policyKey: 'default/nightly',
    volume: { namespace: 'default', name: `vol-${i}`, uid: `uid-${i}` },
    snapshotName: `nightly-vol-${i}-20260101t0000`,
    scheduledAt: '2026-01-01T00:00:00.000Z',
    trigger: 'schedule',
    concurrencyPolicy: 'Forbid',
  };
  return { id: `snap_${i}`, data, delayMs };
}

describe('snapshotGroups', () => {
  it('puts every job in exactly one group, in order, at most `size` a group, one run and delay each', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('run-a', 'run-b'), fc.constantFrom(0, 1500)), {
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 12 }),
        (shapes, size) => {
          const jobs = shapes.map(([runId, delayMs], i) => job(i, runId, delayMs));
          const groups = snapshotGroups(jobs, size);
          expect(groups.flatMap((g) => g.data.members.map((m) => m.id))).toEqual(
            jobs.map((j) => j.id),
          );
          for (const group of groups) {
            expect(group.data.members.length).toBeGreaterThan(0);
            expect(group.data.members.length).toBeLessThanOrEqual(size);
            expect(group.data.members.every((m) => m.data.runId === group.data.runId)).toBe(true);
            const delays = group.data.members.map((m) => jobs.find((j) => j.id === m.id)?.delayMs);
            expect(new Set(delays)).toEqual(new Set([group.delayMs]));
            expect(group.id).toBe(
              snapshotGroupId(group.data.runId, group.data.members[0]?.id ?? ''),
            );
          }
          // Deterministic: the same jobs give the same groups; ids never repeat.
          expect(snapshotGroups(jobs, size)).toEqual(groups);
          expect(new Set(groups.map((g) => g.id)).size).toBe(groups.length);
          // Only a full group, or a change of run or delay, starts a new one.
          const minimal = shapes.reduce(
            (count, shape, i) =>
              i === 0 || shape[0] !== shapes[i - 1]?.[0] || shape[1] !== shapes[i - 1]?.[1]
                ? count + 1
                : count,
            0,
          );
          expect(groups.length).toBeGreaterThanOrEqual(minimal);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('carries ten volumes of a run a job by default', () => {
    const groups = snapshotGroups(Array.from({ length: 25 }, (_, i) => job(i)));
    expect(SNAPSHOT_GROUP_SIZE).toBe(10);
    expect(groups.map((g) => g.data.members.length)).toEqual([10, 10, 5]);
  });

  it('gives ids that are short, distinct per run and first member, and safe for BullMQ', () => {
    const ids = new Set([
      snapshotGroupId('run-a', 'snap_1'),
      snapshotGroupId('run-a', 'snap_2'),
      snapshotGroupId('run-b', 'snap_1'),
      snapshotGroupId('run-a\nsnap_', '1'),
    ]);
    expect(ids.size).toBe(4);
    for (const id of ids) expect(id).toMatch(/^grp_[A-Za-z0-9_-]{22}$/);
  });

  it('refuses a size that is not a whole number of at least 1', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) {
      expect(() => snapshotGroups([job(0)], size)).toThrow(/snapshot group size/);
    }
  });
});
