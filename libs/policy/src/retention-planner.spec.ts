import type { Retention } from './policy.schema.js';
import type { PlanSnapshot, RetentionInput, RetentionPlan } from './retention-plan.types.js';
import { planRetention } from './retention-planner.js';

function snap(name: string, iso: string, over: Partial<PlanSnapshot> = {}): PlanSnapshot {
  return {
    name,
    createdAt: new Date(iso),
    state: 'Ready',
    readyToUse: true,
    managed: true,
    ...over,
  };
}

function input(
  snapshots: PlanSnapshot[],
  retention: Retention,
  over: Partial<RetentionInput> = {},
): RetentionInput {
  return {
    snapshots,
    retention,
    timeZone: 'UTC',
    now: new Date('2026-11-21T12:00:00Z'),
    cap: 7,
    reservedSlots: 1,
    budget: 'scheduled',
    ...over,
  };
}

const names = (plan: RetentionPlan) => ({
  keep: plan.keep.map((k) => k.name),
  prune: plan.prune.map((p) => p.name),
});
const reasonsOf = (plan: RetentionPlan, name: string) =>
  plan.keep.find((k) => k.name === name)?.reasons;

/** One snapshot a day at 02:00 UTC, `days` days up to 2026-11-21, named d-<day>. */
function daily(days: number, over: Partial<PlanSnapshot> = {}): PlanSnapshot[] {
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(Date.UTC(2026, 10, 21 - i, 2));
    return snap(`d-${day.toISOString().slice(5, 10)}`, day.toISOString(), over);
  });
}

describe('planRetention: keep rules', () => {
  it.each<[string, PlanSnapshot[], Retention, string, string[], string[]]>([
    [
      'keepLast keeps the newest n',
      daily(5),
      { keepLast: 3 },
      'UTC',
      ['d-11-21', 'd-11-20', 'd-11-19'],
      ['d-11-17', 'd-11-18'],
    ],
    [
      // Berlin, spring forward on 2026-03-29 (a 23 h day): 23:30Z on the 28th is already the 29th locally.
      'keepDaily uses local calendar days across spring forward',
      [
        snap('a', '2026-03-28T22:30:00Z'), // 28th 23:30 CET
        snap('b', '2026-03-28T23:30:00Z'), // 29th 00:30 CET
        snap('c', '2026-03-29T21:30:00Z'), // 29th 23:30 CEST
        snap('d', '2026-03-29T22:30:00Z'), // 30th 00:30 CEST
      ],
      { keepDaily: 3 },
      'Europe/Berlin',
      ['d', 'c', 'a'],
      ['b'],
    ],
    [
      'the same history in UTC has other days',
      [
        snap('a', '2026-03-28T22:30:00Z'),
        snap('b', '2026-03-28T23:30:00Z'),
        snap('c', '2026-03-29T21:30:00Z'),
        snap('d', '2026-03-29T22:30:00Z'),
      ],
      { keepDaily: 3 },
      'UTC',
      ['d', 'b'],
      ['a', 'c'],
    ],
    [
      // Berlin, fall back on 2026-10-25 (a 25 h day): 00:30 CEST and 23:30 CET are the same day.
      'keepDaily treats the 25-hour fall-back day as one day',
      [
        snap('a', '2026-10-23T22:30:00Z'),
        snap('b', '2026-10-24T22:30:00Z'),
        snap('c', '2026-10-25T22:30:00Z'),
      ],
      { keepDaily: 3 },
      'Europe/Berlin',
      ['c', 'a'],
      ['b'],
    ],
    [
      'keepHourly keeps both 02:00 hours of a fall-back night apart',
      [
        snap('a', '2026-10-25T00:10:00Z'),
        snap('b', '2026-10-25T00:50:00Z'),
        snap('c', '2026-10-25T01:10:00Z'),
        snap('d', '2026-10-25T01:50:00Z'),
      ],
      { keepHourly: 2 },
      'Europe/Berlin',
      ['d', 'b'],
      ['a', 'c'],
    ],
    [
      // ISO week 2026-W53 runs from Mon 2026-12-28 to Sun 2027-01-03.
      'keepWeekly uses ISO weeks across the year boundary',
      [
        snap('sun-w52', '2026-12-27T12:00:00Z'),
        snap('tue-w53', '2026-12-29T12:00:00Z'),
        snap('sat-w53', '2027-01-02T12:00:00Z'),
        snap('mon-w01', '2027-01-04T12:00:00Z'),
      ],
      { keepWeekly: 3 },
      'UTC',
      ['mon-w01', 'sat-w53', 'sun-w52'],
      ['tue-w53'],
    ],
    [
      'keepMonthly keeps the newest of each month',
      [
        snap('jan5', '2026-01-05T00:00:00Z'),
        snap('jan20', '2026-01-20T00:00:00Z'),
        snap('feb10', '2026-02-10T00:00:00Z'),
        snap('mar1', '2026-03-01T00:00:00Z'),
        snap('mar30', '2026-03-30T00:00:00Z'),
      ],
      { keepMonthly: 2 },
      'UTC',
      ['mar30', 'feb10'],
      ['jan5', 'jan20', 'mar1'],
    ],
    [
      'keepMonthly buckets in the policy zone (31 March 22:30Z is April in Berlin)',
      [
        snap('feb', '2026-02-10T00:00:00Z'),
        snap('mar', '2026-03-20T00:00:00Z'),
        snap('apr', '2026-03-31T22:30:00Z'),
      ],
      { keepMonthly: 2 },
      'Europe/Berlin',
      ['apr', 'mar'],
      ['feb'],
    ],
    [
      'keepYearly keeps the newest of each year',
      [
        snap('y24', '2024-06-01T00:00:00Z'),
        snap('y25a', '2025-01-01T00:00:00Z'),
        snap('y25b', '2025-12-31T00:00:00Z'),
        snap('y26', '2026-02-01T00:00:00Z'),
      ],
      { keepYearly: 2 },
      'UTC',
      ['y26', 'y25b'],
      ['y24', 'y25a'],
    ],
    [
      'rules only count buckets that hold a snapshot',
      [
        snap('old', '2026-10-01T02:00:00Z'),
        snap('mid', '2026-11-01T02:00:00Z'),
        snap('new', '2026-11-21T02:00:00Z'),
      ],
      { keepDaily: 3 },
      'UTC',
      ['new', 'mid', 'old'],
      [],
    ],
  ])('%s', (...row) => {
    const [, snapshots, retention, timeZone, keep, prune] = row;
    expect(names(planRetention(input(snapshots, retention, { timeZone })))).toEqual({
      keep,
      prune,
    });
  });

  it('keeps the union of all rules, with every reason', () => {
    // Hourly from Sat 2026-11-21 11:00 UTC back to Sun 2026-11-15 06:00 (ISO week 46).
    const hourly = Array.from({ length: 150 }, (_, i) => {
      const at = new Date(Date.UTC(2026, 10, 21, 11 - i));
      return snap(`h${String(i).padStart(3, '0')}`, at.toISOString());
    });
    const plan = planRetention(input(hourly, { keepLast: 2, keepDaily: 3, keepWeekly: 2 }));
    expect(plan.keep.map((k) => k.name)).toEqual(['h000', 'h001', 'h012', 'h036', 'h132']);
    expect(reasonsOf(plan, 'h000')).toEqual([
      'newest-ready',
      'last',
      'daily 2026-11-21',
      'weekly 2026-W47',
    ]);
    expect(reasonsOf(plan, 'h001')).toEqual(['last']);
    expect(reasonsOf(plan, 'h012')).toEqual(['daily 2026-11-20']);
    expect(reasonsOf(plan, 'h036')).toEqual(['daily 2026-11-19']);
    // Monday 2026-11-16 starts W47: the newest snapshot of W46 is Sunday 23:00.
    expect(reasonsOf(plan, 'h132')).toEqual(['weekly 2026-W46']);
    expect(plan.prune).toHaveLength(145);
    expect(plan.prune[0]).toEqual({ name: 'h149', reason: 'retention' });
  });

  it('prunes oldest first', () => {
    const plan = planRetention(input(daily(6), { keepLast: 2 }));
    expect(plan.prune.map((p) => p.name)).toEqual(['d-11-16', 'd-11-17', 'd-11-18', 'd-11-19']);
  });
});

describe('planRetention: maxAge', () => {
  it('prunes snapshots older than maxAge even when a keep rule selects them', () => {
    // now is 2026-11-21 12:00, so the cutoff is 2026-11-18 12:00: d-11-18 (02:00) is older.
    const plan = planRetention(input(daily(5), { keepLast: 5, maxAge: '3d' }));
    expect(names(plan)).toEqual({
      keep: ['d-11-21', 'd-11-20', 'd-11-19'],
      prune: ['d-11-17', 'd-11-18'],
    });
    expect(plan.prune.map((p) => p.reason)).toEqual(['max-age', 'max-age']);
  });

  it('keeps the newest ready snapshot however old it is', () => {
    const old = [snap('ancient', '2020-01-01T00:00:00Z'), snap('older', '2019-01-01T00:00:00Z')];
    const plan = planRetention(input(old, { keepLast: 2, maxAge: '30d' }));
    expect(names(plan)).toEqual({ keep: ['ancient'], prune: ['older'] });
    expect(reasonsOf(plan, 'ancient')).toEqual(['newest-ready', 'last']);
  });
});

describe('planRetention: what is never pruned', () => {
  it.each<[string, PlanSnapshot, string]>([
    ['an unmanaged snapshot', snap('x', '2020-01-01T00:00:00Z', { managed: false }), 'unmanaged'],
    [
      'a snapshot labelled keep',
      snap('x', '2020-01-01T00:00:00Z', { protectedBy: 'keep-label' }),
      'protected: keep-label',
    ],
    [
      'a snapshot a restore reads',
      snap('x', '2020-01-01T00:00:00Z', { protectedBy: 'restore' }),
      'protected: restore',
    ],
    [
      'a terminating snapshot',
      snap('x', '2020-01-01T00:00:00Z', { state: 'Terminating', readyToUse: false }),
      'terminating',
    ],
    [
      'a creating snapshot',
      snap('x', '2020-01-01T00:00:00Z', { state: 'Creating', readyToUse: false }),
      'creating',
    ],
  ])('%s, old and outside every rule', (_name, odd, reason) => {
    const plan = planRetention(input([odd, ...daily(3)], { keepLast: 1, maxAge: '1d' }));
    expect(plan.prune.map((p) => p.name)).not.toContain('x');
    expect(reasonsOf(plan, 'x')).toEqual([reason]);
  });

  it('the newest ready snapshot, when it is not managed, is kept as unmanaged and managed ones rotate', () => {
    const snapshots = [...daily(3), snap('manual', '2026-11-21T10:00:00Z', { managed: false })];
    expect(names(planRetention(input(snapshots, { keepLast: 1 })))).toEqual({
      keep: ['manual', 'd-11-21'],
      prune: ['d-11-19', 'd-11-20'],
    });
  });

  it('the newest ready snapshot, even when the incoming one supersedes it in every rule', () => {
    const plan = planRetention(
      input(
        daily(2),
        { keepLast: 1 },
        { incoming: { name: 'new', createdAt: new Date('2026-11-21T12:00:00Z') } },
      ),
    );
    expect(names(plan)).toEqual({ keep: ['new', 'd-11-21'], prune: ['d-11-20'] });
    expect(reasonsOf(plan, 'd-11-21')).toEqual(['newest-ready']);
    expect(reasonsOf(plan, 'new')).toEqual(['incoming', 'last']);
  });

  it('prunes failed managed snapshots, whatever the rules say', () => {
    const snapshots = [
      ...daily(2),
      snap('broken', '2026-11-21T03:00:00Z', { state: 'Failed', readyToUse: false }),
    ];
    const plan = planRetention(input(snapshots, { keepLast: 5 }));
    expect(plan.prune).toEqual([{ name: 'broken', reason: 'failed' }]);
  });

  it('leaves a managed Ready snapshot that is not readyToUse alone', () => {
    const plan = planRetention(
      input([snap('odd', '2020-01-01T00:00:00Z', { readyToUse: false }), ...daily(2)], {
        keepLast: 1,
      }),
    );
    expect(reasonsOf(plan, 'odd')).toEqual(['not-ready']);
  });
});

describe('planRetention: the cap', () => {
  const incoming = { name: 'new', createdAt: new Date('2026-11-21T12:00:00Z') };

  it.each<
    [
      string,
      PlanSnapshot[],
      Retention,
      Partial<RetentionInput>,
      Pick<RetentionPlan, 'canCreate' | 'pruneBeforeCreate' | 'limit' | 'countedAfter'>,
    ]
  >([
    [
      'room left: nothing pruned first',
      daily(3),
      { keepLast: 6 },
      {},
      { canCreate: true, pruneBeforeCreate: [], limit: 6, countedAfter: 4 },
    ],
    [
      'full: the oldest goes first',
      daily(6),
      { keepLast: 6 },
      {},
      { canCreate: true, pruneBeforeCreate: ['d-11-16'], limit: 6, countedAfter: 6 },
    ],
    [
      'over the limit (a lowered cap): the fewest oldest prunes that fit',
      daily(7),
      { keepLast: 2 },
      { cap: 5 },
      {
        canCreate: true,
        pruneBeforeCreate: ['d-11-15', 'd-11-16', 'd-11-17', 'd-11-18'],
        limit: 4,
        countedAfter: 2,
      },
    ],
    [
      'terminating snapshots count toward the cap',
      [
        ...daily(4),
        ...daily(2, { managed: false, state: 'Terminating', readyToUse: false }).map((s) => ({
          ...s,
          name: `t-${s.name}`,
        })),
      ],
      { keepLast: 4 },
      {},
      { canCreate: true, pruneBeforeCreate: ['d-11-18'], limit: 6, countedAfter: 6 },
    ],
    [
      'the on-demand budget may use the reserved slot',
      daily(6),
      { keepLast: 6 },
      { budget: 'on-demand' },
      { canCreate: true, pruneBeforeCreate: [], limit: 7, countedAfter: 7 },
    ],
    [
      'an on-demand snapshot occupies the reserved slot, not the policy budget',
      [
        ...daily(6),
        snap('pre-upgrade', '2026-11-21T08:00:00Z', { managed: false, protectedBy: 'on-demand' }),
      ],
      { keepLast: 6 },
      {},
      { canCreate: true, pruneBeforeCreate: ['d-11-16'], limit: 7, countedAfter: 7 },
    ],
    [
      'an infinite cap never prunes first',
      daily(20),
      { keepLast: 30 },
      { cap: Number.POSITIVE_INFINITY },
      { canCreate: true, pruneBeforeCreate: [], limit: Number.POSITIVE_INFINITY, countedAfter: 21 },
    ],
  ])('%s', (_name, snapshots, retention, over, expected) => {
    const plan = planRetention(input(snapshots, retention, { incoming, ...over }));
    expect(plan).toMatchObject(expected);
    expect(plan.blockedReason).toBeUndefined();
  });

  it('blocks when snapshots it does not manage fill the cap, and says why with counts', () => {
    const manual = daily(7, { managed: false });
    const plan = planRetention(input(manual, { keepLast: 3 }, { incoming }));
    expect(plan).toMatchObject({
      canCreate: false,
      pruneBeforeCreate: [],
      prune: [],
      limit: 6,
      countedAfter: 7,
    });
    expect(plan.blockedReason).toBe(
      'limit reached: volume holds 7 snapshots (7 not managed by this policy) and the cap is 7 with 1 reserved; ' +
        'a new snapshot needs 2 pruned first but 0 can be',
    );
  });

  it('an on-demand request at the cap calls every snapshot held, as it belongs to no policy', () => {
    const all = daily(7, { managed: false });
    const plan = planRetention(
      input(all, { keepLast: 3 }, { incoming, budget: 'on-demand', reservedSlots: 0 }),
    );
    expect(plan.canCreate).toBe(false);
    expect(plan.blockedReason).toBe(
      'limit reached: volume holds 7 snapshots (7 held) and the cap is 7; ' +
        'a new snapshot needs 1 pruned first but 0 can be',
    );
  });

  it('blocks when terminating and retained snapshots leave no prunable one', () => {
    const stuck = daily(5, { state: 'Terminating', readyToUse: false }).map((s) => ({
      ...s,
      name: `t-${s.name}`,
    }));
    const plan = planRetention(
      input([...stuck, snap('last', '2026-11-21T06:00:00Z')], { keepLast: 1 }, { incoming }),
    );
    expect(plan.canCreate).toBe(false);
    expect(plan.blockedReason).toBe(
      'limit reached: volume holds 6 snapshots (5 terminating, 1 kept by retention) and the cap is 7 with 1 reserved; ' +
        'a new snapshot needs 1 pruned first but 0 can be',
    );
  });

  it('blocks an on-demand snapshot only at the cap itself', () => {
    const plan = planRetention(
      input(daily(7), { keepLast: 7 }, { incoming, budget: 'on-demand', reservedSlots: 0 }),
    );
    expect(plan.canCreate).toBe(false);
    expect(plan.blockedReason).toMatch(
      /^limit reached: volume holds 7 snapshots \(7 kept by retention\) and the cap is 7; /,
    );
  });

  it('when blocked, plans the volume as if nothing were created (safe to apply)', () => {
    const snapshots = [
      ...daily(3),
      ...daily(4, { managed: false }).map((s) => ({ ...s, name: `m-${s.name}` })),
    ];
    const plan = planRetention(input(snapshots, { keepLast: 3 }, { incoming }));
    expect(plan.canCreate).toBe(false);
    expect(names(plan).prune).toEqual([]);
    expect(plan.keep.map((k) => k.name)).not.toContain('new');
  });

  it('without an incoming snapshot only plans rotation', () => {
    const plan = planRetention(input(daily(8), { keepLast: 6 }));
    expect(plan).toMatchObject({
      canCreate: true,
      pruneBeforeCreate: [],
      limit: 6,
      countedAfter: 6,
    });
  });

  it('keeps the incoming snapshot first in the keep list', () => {
    const plan = planRetention(input(daily(2), { keepLast: 3 }, { incoming }));
    expect(plan.keep[0]).toEqual({ name: 'new', reasons: ['incoming', 'last'] });
  });
});

describe('planRetention: an incoming name that already exists (a retried job)', () => {
  const at = new Date('2026-11-21T12:00:00Z');

  it.each(['Creating', 'Ready'] as const)(
    'adopts a %s snapshot: no new slot, nothing pruned first',
    (state) => {
      const existing = snap('new', at.toISOString(), { state, readyToUse: state === 'Ready' });
      const plan = planRetention(
        input(
          [...daily(6), existing],
          { keepLast: 6 },
          { incoming: { name: 'new', createdAt: at } },
        ),
      );
      expect(plan).toMatchObject({ canCreate: true, pruneBeforeCreate: [], countedAfter: 6 });
      expect(reasonsOf(plan, 'new')).toEqual(['incoming', 'last']);
      expect(plan.prune.map((p) => p.name)).toEqual(['d-11-16']);
    },
  );

  it('deletes a failed managed snapshot of that name first', () => {
    const failed = snap('new', '2026-11-21T11:00:00Z', { state: 'Failed', readyToUse: false });
    const plan = planRetention(
      input([...daily(6), failed], { keepLast: 6 }, { incoming: { name: 'new', createdAt: at } }),
    );
    expect(plan).toMatchObject({
      canCreate: true,
      pruneBeforeCreate: ['new', 'd-11-16'],
      countedAfter: 6,
    });
  });

  it.each<[string, Partial<PlanSnapshot>, RegExp]>([
    [
      'terminating',
      { state: 'Terminating', readyToUse: false },
      /snapshot "new" is still terminating/,
    ],
    [
      'failed and not managed',
      { state: 'Failed', readyToUse: false, managed: false },
      /a failed snapshot named "new" exists/,
    ],
  ])('blocks when it is %s', (_name, over, reason) => {
    const plan = planRetention(
      input(
        [snap('new', '2026-11-21T11:00:00Z', over)],
        { keepLast: 2 },
        { incoming: { name: 'new', createdAt: at } },
      ),
    );
    expect(plan.canCreate).toBe(false);
    expect(plan.blockedReason).toMatch(reason);
  });
});

describe('planRetention: caller errors', () => {
  it.each<[string, Partial<RetentionInput>]>([
    ['cap 0', { cap: 0 }],
    ['a fractional cap', { cap: 2.5 }],
    ['negative reserved slots', { reservedSlots: -1 }],
    ['an unknown zone', { timeZone: 'Nowhere/City' }],
    ['an invalid now', { now: new Date(Number.NaN) }],
  ])('throws a RangeError for %s', (_name, over) => {
    expect(() => planRetention(input(daily(1), { keepLast: 1 }, over))).toThrow(RangeError);
  });
});
