import { decodeRun, pairsToMap, startFields } from './run-codec.js';
import { finalRunState, type RunStartInput } from './run-record.js';

const NOW = new Date('2025-06-01T02:00:05.000Z');
const input: RunStartInput = {
  id: 'run-1',
  kind: 'scheduled',
  policy: 'shop/nightly',
  namespace: 'shop',
  trigger: 'schedule',
  scheduledAt: new Date('2025-06-01T02:00:00.000Z'),
  volumes: ['db', 'cache', 'db'],
};

const decode = (i: RunStartInput) => decodeRun(pairsToMap(startFields(i, NOW)));

describe('run record codec', () => {
  it('starts a run with every volume pending, duplicates dropped, order kept', () => {
    expect(decode(input)).toEqual({
      id: 'run-1',
      kind: 'scheduled',
      policy: 'shop/nightly',
      namespace: 'shop',
      trigger: 'schedule',
      scheduledAt: '2025-06-01T02:00:00.000Z',
      createdAt: NOW.toISOString(),
      state: 'running',
      volumes: [
        { volume: 'db', state: 'pending' },
        { volume: 'cache', state: 'pending' },
      ],
      counts: { total: 2, succeeded: 0, failed: 0, skipped: 0, pending: 2 },
    });
  });

  it('finishes a run without volumes at once as succeeded', () => {
    expect(decode({ ...input, volumes: [] })).toMatchObject({
      state: 'succeeded',
      finishedAt: NOW.toISOString(),
      durationMs: 0,
      counts: { total: 0, pending: 0 },
    });
  });

  it('records a missed run as terminal, its volumes skipped with the reason', () => {
    const message = 'started 400s after its tick (deadline 300s)';
    expect(decode({ ...input, state: 'missed', message })).toMatchObject({
      state: 'missed',
      message,
      finishedAt: NOW.toISOString(),
      volumes: [
        { volume: 'db', state: 'skipped', reason: message },
        { volume: 'cache', state: 'skipped', reason: message },
      ],
      counts: { total: 2, skipped: 2, pending: 0 },
    });
  });

  it('reads nothing from an empty hash', () => {
    expect(decodeRun(new Map())).toBeUndefined();
  });

  it.each([
    [{ succeeded: 3, failed: 0, skipped: 0 }, 'succeeded'],
    [{ succeeded: 1, failed: 0, skipped: 2 }, 'succeeded'],
    [{ succeeded: 0, failed: 0, skipped: 2 }, 'succeeded'],
    [{ succeeded: 0, failed: 2, skipped: 0 }, 'failed'],
    [{ succeeded: 1, failed: 1, skipped: 0 }, 'partial'],
    [{ succeeded: 0, failed: 1, skipped: 1 }, 'partial'],
  ])('a finished run with %j is %s', (counts, expected) => {
    expect(finalRunState(counts)).toBe(expected);
  });
});
