import type { AuditEvent } from './audit-event.js';
import { planAuditQuery } from './audit-filter.js';
import { encodeStreamCursor } from './cursor.js';
import { InvalidQueryError } from './errors.js';

const event = (overrides: Partial<AuditEvent> = {}): AuditEvent => ({
  id: '1-0',
  type: 'snapshot.ready',
  outcome: 'succeeded',
  trigger: 'schedule',
  time: '2025-01-01T00:00:00.000Z',
  policy: 'shop/nightly',
  namespace: 'shop',
  volume: 'data',
  runId: 'r1',
  ...overrides,
});

describe('audit query plan', () => {
  it('defaults to newest first, 50 per page, the whole stream', () => {
    const plan = planAuditQuery({});
    expect(plan).toMatchObject({
      order: 'desc',
      limit: 50,
      range: { start: '-', end: '+' },
      selective: false,
      satisfiable: true,
    });
  });

  it.each([
    [0, 1],
    [10, 10],
    [501, 500],
    [Number.NaN, 50],
  ])('clamps limit %p to %p', (limit, expected) => {
    expect(planAuditQuery({ limit }).limit).toBe(expected);
  });

  it('maps the time range onto stream ids: since inclusive, until exclusive', () => {
    const plan = planAuditQuery({ since: new Date(1000), until: new Date(5000) });
    expect(plan.range).toEqual({ start: '1000-0', end: '(5000-0' });
  });

  it('continues after the cursor in the direction of the order', () => {
    const cursor = encodeStreamCursor('3000-2');
    expect(planAuditQuery({ cursor }).range).toEqual({ start: '-', end: '(3000-2' });
    expect(planAuditQuery({ cursor, order: 'asc' }).range).toEqual({ start: '(3000-2', end: '+' });
    const bounded = planAuditQuery({ cursor, until: new Date(2000) });
    expect(bounded.range.end).toBe('(2000-0');
  });

  it('is unsatisfiable when since is not before until', () => {
    expect(planAuditQuery({ since: new Date(5), until: new Date(5) }).satisfiable).toBe(false);
  });

  it('names the offending field of a bad cursor or time', () => {
    expect(() => planAuditQuery({ cursor: '***' })).toThrow(
      expect.objectContaining({ field: 'cursor' }) as Error,
    );
    expect(() => planAuditQuery({ since: new Date(Number.NaN) })).toThrow(InvalidQueryError);
  });

  it.each([
    [{ policy: 'shop/nightly' }, true],
    [{ policy: 'shop/other' }, false],
    [{ namespace: 'shop', volume: 'data' }, true],
    [{ volume: 'shop/data' }, true],
    [{ volume: 'other/data' }, false],
    [{ runId: 'r2' }, false],
    [{ type: 'snapshot.ready' as const }, true],
    [{ type: ['snapshot.failed' as const, 'snapshot.ready' as const] }, true],
    [{ type: 'snapshot.failed' as const }, false],
    [{ outcome: 'succeeded' as const, snapshot: undefined }, true],
    [{ outcome: ['failed' as const] }, false],
  ])('matches %j: %p', (filter, expected) => {
    expect(planAuditQuery(filter).matches(event())).toBe(expected);
  });
});
