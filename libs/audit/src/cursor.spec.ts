import fc from 'fast-check';
import {
  compareStreamIds,
  decodeRunCursor,
  decodeStreamCursor,
  encodeRunCursor,
  encodeStreamCursor,
  parseRunIndexMember,
  runIndexMember,
} from './cursor.js';
import { InvalidQueryError } from './errors.js';

describe('stream cursors', () => {
  it('round-trips any stream id', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (ms, seq) => {
        const id = `${ms}-${seq}`;
        expect(decodeStreamCursor(encodeStreamCursor(id))).toBe(id);
      }),
    );
  });

  it('is opaque: URL-safe, no raw id inside', () => {
    const cursor = encodeStreamCursor('1700000000000-3');
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain('1700000000000');
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'a b+c/'],
    ['garbage', 'bm9wZQ'],
    ['a run cursor', encodeRunCursor({ timeMs: 1, id: 'x' })],
    ['a non-id body', Buffer.from('e:12-x').toString('base64url')],
  ])('rejects %s with InvalidQueryError on field cursor', (_name, cursor) => {
    expect(() => decodeStreamCursor(cursor)).toThrow(InvalidQueryError);
    try {
      decodeStreamCursor(cursor);
    } catch (error) {
      expect((error as InvalidQueryError).field).toBe('cursor');
    }
  });

  it.each([
    ['1-0', '2-0', -1],
    ['10-0', '9-5', 1],
    ['5-2', '5-10', -1],
    ['5-3', '5-3', 0],
    ['18446744073709551615-0', '18446744073709551614-9', 1],
  ])('orders %s against %s numerically', (a, b, expected) => {
    expect(compareStreamIds(a, b)).toBe(expected);
  });
});

describe('run cursors', () => {
  it('round-trips time and id, also ids with colons', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 14 }), fc.string({ minLength: 1 }), (timeMs, id) => {
        expect(decodeRunCursor(encodeRunCursor({ timeMs, id }))).toEqual({ timeMs, id });
      }),
    );
  });

  it('orders index members by time, then id', () => {
    const members = [
      runIndexMember({ timeMs: 1_000, id: 'b' }),
      runIndexMember({ timeMs: 999, id: 'z' }),
      runIndexMember({ timeMs: 1_000, id: 'a' }),
      runIndexMember({ timeMs: 20_000, id: 'a' }),
    ];
    expect([...members].sort().map((m) => parseRunIndexMember(m))).toEqual([
      { timeMs: 999, id: 'z' },
      { timeMs: 1_000, id: 'a' },
      { timeMs: 1_000, id: 'b' },
      { timeMs: 20_000, id: 'a' },
    ]);
  });

  it.each([
    ['garbage', 'Zm9v'],
    ['a stream cursor', encodeStreamCursor('1-0')],
    ['a short time', Buffer.from('r:123:x').toString('base64url')],
    ['no id', Buffer.from('r:000000000000001:').toString('base64url')],
  ])('rejects %s with InvalidQueryError', (_name, cursor) => {
    expect(() => decodeRunCursor(cursor)).toThrow(InvalidQueryError);
  });
});
