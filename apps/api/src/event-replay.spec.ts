import { compareIds, isStreamId } from './event-replay.js';

describe('stream ids of Last-Event-ID', () => {
  it('orders ids by time, then by sequence', () => {
    expect(compareIds('1700000000000-0', '1700000000001-0')).toBe(-1);
    expect(compareIds('1700000000001-2', '1700000000001-10')).toBe(-1);
    expect(compareIds('1700000000001-10', '1700000000001-10')).toBe(0);
    expect(compareIds('1700000000002-0', '1700000000001-99')).toBe(1);
  });

  it('accepts only <ms>-<seq>', () => {
    expect(isStreamId('1700000000000-0')).toBe(true);
    expect(isStreamId('1700000000000')).toBe(false);
    expect(isStreamId('abc-1')).toBe(false);
  });
});
