import { jitterMs } from './jitter.js';

describe('jitterMs', () => {
  it('is 0 without jitter', () => {
    expect(jitterMs('default/nightly', 0)).toBe(0);
  });

  it('is the same for the same key on every call (every replica agrees)', () => {
    expect(jitterMs('default/nightly', 300)).toBe(jitterMs('default/nightly', 300));
  });

  it.each([1, 7, 60, 3600])('stays in [0, %d s) for many keys', (seconds) => {
    for (let i = 0; i < 500; i++) {
      const ms = jitterMs(`ns/policy-${i}`, seconds);
      expect(Number.isInteger(ms)).toBe(true);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(seconds * 1000);
    }
  });

  it('spreads different keys across the window', () => {
    const offsets = new Set(Array.from({ length: 200 }, (_, i) => jitterMs(`ns/p${i}`, 600)));
    expect(offsets.size).toBeGreaterThan(190);
    const mean = [...offsets].reduce((a, b) => a + b, 0) / offsets.size;
    expect(mean).toBeGreaterThan(200_000);
    expect(mean).toBeLessThan(400_000);
  });
});
