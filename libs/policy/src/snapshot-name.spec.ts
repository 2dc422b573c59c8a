import fc from 'fast-check';
import { isDns1123Label, isDns1123Subdomain } from './k8s-syntax.js';
import { onDemandSnapshotName, scheduledSnapshotName } from './snapshot-name.js';

const tick = new Date('2026-11-21T02:00:00Z');
const long = (c: string, n: number) => c.repeat(n);

describe('scheduledSnapshotName', () => {
  it('joins policy, volume and the compact UTC tick when that is a valid name', () => {
    expect(scheduledSnapshotName('nightly', 'data-db-0', tick)).toBe(
      'nightly-data-db-0-20261121t020000z',
    );
  });

  it('is the same for the same inputs (any replica, any retry)', () => {
    expect(scheduledSnapshotName('nightly', 'data-db-0', new Date(tick))).toBe(
      scheduledSnapshotName('nightly', 'data-db-0', tick),
    );
  });

  it('drops sub-second precision of the tick', () => {
    expect(scheduledSnapshotName('p', 'v', new Date('2026-11-21T02:00:00.999Z'))).toBe(
      'p-v-20261121t020000z',
    );
  });

  it.each([
    ['uppercase', 'Nightly', 'Data'],
    ['dots', 'nightly', 'data.db.0'],
    ['underscores', 'night_ly', 'data__db'],
    ['spaces and symbols', 'my policy!', 'vol ume#1'],
    ['a long policy', long('p', 80), 'data'],
    ['a long volume', 'nightly', long('v', 253)],
    ['both long', long('a', 63), long('b', 63)],
    ['nothing usable', '___', '...'],
    ['a dash at the cut', long('a', 36) + '-' + long('b', 30), 'x'],
  ])('with %s: a valid label ending in the tick', (_case, policy, volume) => {
    const name = scheduledSnapshotName(policy, volume, tick);
    expect(isDns1123Label(name)).toBe(true);
    expect(name).toMatch(/-[0-9a-f]{8}-20261121t020000z$|^[0-9a-f]{8}-20261121t020000z$/);
  });

  it('keeps inputs apart that sanitise or truncate to the same text', () => {
    const names = [
      scheduledSnapshotName('nightly', 'Data', tick),
      scheduledSnapshotName('nightly', 'data', tick),
      scheduledSnapshotName('nightly', 'DATA', tick),
      scheduledSnapshotName('nightly', 'da_ta', tick),
      scheduledSnapshotName('nightly', 'da.ta', tick),
      scheduledSnapshotName('nightly', long('v', 100) + '1', tick),
      scheduledSnapshotName('nightly', long('v', 100) + '2', tick),
      scheduledSnapshotName('night-ly', 'X', tick),
      scheduledSnapshotName('night', 'ly-X', tick),
    ];
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives every tick its own name', () => {
    const a = scheduledSnapshotName(long('p', 80), 'v', tick);
    const b = scheduledSnapshotName(long('p', 80), 'v', new Date('2026-11-21T02:00:01Z'));
    expect(a).not.toBe(b);
  });

  it('is always a valid label, and distinct inputs give distinct names (property)', () => {
    const part = fc.string({
      unit: fc.constantFrom('a', 'Z', '0', '-', '.', '_', ' ', 'é'),
      maxLength: 90,
    });
    const input = fc.tuple(part, part, fc.integer({ min: 0, max: 4_102_444_800 }));
    fc.assert(
      fc.property(input, input, ([p1, v1, s1], [p2, v2, s2]) => {
        const n1 = scheduledSnapshotName(p1, v1, new Date(s1 * 1000));
        const n2 = scheduledSnapshotName(p2, v2, new Date(s2 * 1000));
        expect(isDns1123Label(n1)).toBe(true);
        const same = p1 === p2 && v1 === v2 && s1 === s2;
        const plainSame = `${p1}-${v1}` === `${p2}-${v2}` && s1 === s2 && isDns1123Label(n1);
        if (!same && !plainSame) expect(n1).not.toBe(n2);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('onDemandSnapshotName', () => {
  it.each([
    ['pre-upgrade-shop', 'data-db-0', 'pre-upgrade-shop-data-db-0'],
    ['req', 'vol', 'req-vol'],
  ])('joins %j and %j when valid', (request, volume, name) => {
    expect(onDemandSnapshotName(request, volume)).toBe(name);
  });

  it.each([
    ['Upper', 'Vol'],
    [long('r', 60), 'vol'],
    ['req', long('v', 200)],
    ['', ''],
    ['a.b', 'c_d'],
  ])('turns %j + %j into a valid label ending in a hash', (request, volume) => {
    const name = onDemandSnapshotName(request, volume);
    expect(isDns1123Label(name)).toBe(true);
    expect(name).toMatch(/(^|-)[0-9a-f]{8}$/);
    expect(onDemandSnapshotName(request, volume)).toBe(name);
  });

  it('keeps long names that share a prefix apart', () => {
    expect(onDemandSnapshotName(long('r', 70) + 'a', 'v')).not.toBe(
      onDemandSnapshotName(long('r', 70) + 'b', 'v'),
    );
  });
});

describe('DNS-1123 names', () => {
  it.each([
    ['a', true, true],
    ['a-b', true, true],
    ['0abc', true, true],
    [long('a', 63), true, true],
    [long('a', 64), false, true],
    ['a.b', false, true],
    [`${long('a', 63)}.${long('b', 63)}.${long('c', 63)}.${long('d', 61)}`, false, true],
    [`${long('a', 63)}.${long('b', 63)}.${long('c', 63)}.${long('d', 62)}`, false, false],
    ['', false, false],
    ['-a', false, false],
    ['a-', false, false],
    ['A', false, false],
    ['a_b', false, false],
    ['a..b', false, false],
    ['.a', false, false],
  ])('%j: label %s, subdomain %s', (s, label, subdomain) => {
    expect(isDns1123Label(s)).toBe(label);
    expect(isDns1123Subdomain(s)).toBe(subdomain);
  });
});
