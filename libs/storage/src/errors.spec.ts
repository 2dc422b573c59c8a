import { SnapshotLimitError, TransientDriverError } from '#lib/storage';

describe('driver errors', () => {
  it('marks provider faults as transient and limit errors as final', () => {
    expect(new TransientDriverError('x').transient).toBe(true);
    expect(new SnapshotLimitError('x').transient).toBe(false);
    expect(new SnapshotLimitError('x').name).toBe('SnapshotLimitError');
  });
});
