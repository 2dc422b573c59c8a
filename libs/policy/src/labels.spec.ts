import { isLabelValue } from './k8s-syntax.js';
import fc from 'fast-check';
import { formatScheduledAt, labelValue, parseScheduledAt } from './labels.js';

describe('scheduled-at label value', () => {
  it.each([
    ['2026-11-21T02:00:00.000Z', '20261121t020000z'],
    ['2026-01-05T23:59:59.999Z', '20260105t235959z'],
    ['1999-12-31T00:00:07.000Z', '19991231t000007z'],
  ])('formats %s as %s, a valid label value', (iso, value) => {
    expect(formatScheduledAt(new Date(iso))).toBe(value);
    expect(isLabelValue(value)).toBe(true);
  });

  it('reads its own output back to the second', () => {
    expect(parseScheduledAt('20261121t020000z')?.toISOString()).toBe('2026-11-21T02:00:00.000Z');
  });

  it.each([
    '',
    '20261121T020000Z',
    '20261321t020000z',
    '20260230t000000z',
    '2026-11-21',
    'x20261121t020000z',
  ])('rejects %j', (value) => {
    expect(parseScheduledAt(value)).toBeUndefined();
  });
});

describe('labelValue', () => {
  const long =
    'data-postgresql-ha-postgresql-primary-0-with-a-very-long-release-name-for-prod-eu-1';

  it.each(['data-db-0', 'A.b_c-9', '', 'x'.repeat(63)])('keeps the valid value %j', (value) => {
    expect(labelValue(value)).toBe(value);
  });

  it('trims a long claim name and keeps it recognisable and distinct', () => {
    const value = labelValue(long);
    expect(value).toHaveLength(63);
    expect(isLabelValue(value)).toBe(true);
    expect(value.startsWith('data-postgresql-ha-postgresql-primary-0-with-a-very-')).toBe(true);
    expect(labelValue(`${long}-2`)).not.toBe(value);
    expect(labelValue(long)).toBe(value);
  });

  it('is always a valid label value', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary' }), (input) => {
        expect(isLabelValue(labelValue(input))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
