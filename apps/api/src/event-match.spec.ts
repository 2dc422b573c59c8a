import type { AuditEvent } from '#lib/audit';
import { matchesEvent } from './event-match.js';

const event: AuditEvent = {
  id: '1-0',
  time: '2026-01-01T00:00:00.000Z',
  type: 'snapshot.ready',
  outcome: 'succeeded',
  trigger: 'schedule',
  policy: 'default/nightly',
  namespace: 'default',
  volume: 'data',
  runId: 'r1',
};

describe('matchesEvent', () => {
  it('passes an event when no filter is given', () => {
    expect(matchesEvent(event, {})).toBe(true);
  });

  it('passes an event matching every filter', () => {
    expect(
      matchesEvent(event, {
        policy: 'default/nightly',
        namespace: 'default',
        volume: 'default/data',
        runId: 'r1',
        kind: 'snapshot.ready',
        state: 'succeeded',
      }),
    ).toBe(true);
  });

  it.each([
    [{ policy: 'default/other' }],
    [{ namespace: 'prod' }],
    [{ volume: 'logs' }],
    [{ volume: 'prod/data' }],
    [{ runId: 'r2' }],
    [{ kind: 'snapshot.failed' }],
    [{ state: 'failed' }],
  ])('drops an event a filter does not match: %j', (match) => {
    expect(matchesEvent(event, match)).toBe(false);
  });
});
