import { scheduledRunId, snapshotJobId } from './job-ids.js';

describe('snapshotJobId', () => {
  const policy = '3f2a9c1d0b7e';
  const volume = '5b0e6a52-9a3c-4d1e-8f2b-7c6d5e4f3a21';

  it('is the same for the same policy, volume and tick', () => {
    expect(snapshotJobId(policy, volume, 1_767_225_600_000)).toBe(
      snapshotJobId(policy, volume, 1_767_225_600_000),
    );
  });

  it('differs when the policy, the volume or the tick differs', () => {
    const ids = new Set([
      snapshotJobId(policy, volume, 1_767_225_600_000),
      snapshotJobId(policy, volume, 1_767_229_200_000),
      snapshotJobId('3f2a9c1d0b7f', volume, 1_767_225_600_000),
      snapshotJobId(policy, '5b0e6a52-9a3c-4d1e-8f2b-7c6d5e4f3a22', 1_767_225_600_000),
      // The separator keeps the parts apart: moving a character across them changes the id.
      snapshotJobId(`${policy}5`, volume.slice(1), 1_767_225_600_000),
    ]);
    expect(ids.size).toBe(5);
  });

  it('is short and free of the characters BullMQ ids must not hold', () => {
    const id = snapshotJobId(policy, volume, 1_767_225_600_000);
    expect(id).toMatch(/^snap_[A-Za-z0-9_-]{22}$/);
  });
});

describe('scheduledRunId', () => {
  it('names the policy and the tick', () => {
    expect(scheduledRunId('shop/nightly', 1_767_225_600_000)).toBe(
      'sched_shop.nightly_1767225600000',
    );
  });
});
