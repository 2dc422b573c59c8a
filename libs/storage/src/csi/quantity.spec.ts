import { parseQuantity } from './quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['1024', 1024],
    ['1Ki', 1024],
    ['10Gi', 10 * 2 ** 30],
    ['500M', 500e6],
    ['1e3', 1000],
    ['1.5Ki', 1536],
    ['1500m', 2],
  ])('reads %s as %d bytes', (text, bytes) => {
    expect(parseQuantity(text)).toBe(bytes);
  });

  it('refuses what is not a quantity', () => {
    expect(() => parseQuantity('ten')).toThrow(RangeError);
  });
});
