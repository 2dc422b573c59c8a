import fc from 'fast-check';
import { flatString } from './flat-string.js';

describe('flatString', () => {
  it('gives back the same characters for any string, those not in normal form C included', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.constantFrom(
            '',
            '0',
            '123',
            '01',
            '-1',
            '__proto__',
            'constructor',
            'toString',
            '\ud800x',
            'e\u0301',
          ),
          fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}/${b}-${a}`),
        ),
        (value) => {
          expect(flatString(value)).toBe(value);
        },
      ),
      { numRuns: 500 },
    );
  });
});
