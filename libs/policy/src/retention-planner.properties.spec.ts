import fc from 'fast-check';
import { KEEP_RULES, type Retention } from './policy.schema.js';
import { retentionFootprint } from './retention-footprint.js';
import type {
  PlanSnapshot,
  PlanSnapshotState,
  RetentionInput,
  RetentionPlan,
} from './retention-plan.types.js';
import { planRetention } from './retention-planner.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const MINUTE = 60_000;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'];
const STATES: PlanSnapshotState[] = [
  'Ready',
  'Ready',
  'Ready',
  'Creating',
  'Failed',
  'Terminating',
];

const maxAgeArb = fc.option(fc.constantFrom('2h', '3d', '20d'), { nil: undefined });

/** Few rules with real counts: where one rule alone is tight and edge cases live. */
const sparseRetentionArb: fc.Arbitrary<Retention> = fc
  .tuple(
    fc.subarray([...KEEP_RULES], { minLength: 1, maxLength: 2 }),
    fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 2 }),
    maxAgeArb,
  )
  .map(([rules, counts, maxAge]) => {
    const retention: Retention = Object.fromEntries(rules.map((rule, i) => [rule, counts[i] ?? 1]));
    return maxAge === undefined ? retention : { ...retention, maxAge };
  });

/** Any mix of rules, zeros included. */
const denseRetentionArb: fc.Arbitrary<Retention> = fc
  .record({
    keepLast: fc.integer({ min: 0, max: 4 }),
    keepHourly: fc.integer({ min: 0, max: 3 }),
    keepDaily: fc.integer({ min: 0, max: 3 }),
    keepWeekly: fc.integer({ min: 0, max: 3 }),
    keepMonthly: fc.integer({ min: 0, max: 2 }),
    keepYearly: fc.integer({ min: 0, max: 2 }),
    maxAge: maxAgeArb,
  })
  .filter((r) => retentionFootprint(r).retained > 0)
  .map(
    (r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Retention,
  );

const retentionArb = fc.oneof(sparseRetentionArb, denseRetentionArb);

const snapshotArb = (index: number): fc.Arbitrary<PlanSnapshot> =>
  fc
    .record({
      name: fc.constant(`s${index}`),
      // Minutes within ~70 days, coarse enough that equal timestamps happen.
      createdAt: fc.integer({ min: 0, max: 100 }).map((k) => new Date(NOW - k * 1000 * MINUTE)),
      state: fc.constantFrom(...STATES),
      // Usually true for Ready only; a deleting VolumeSnapshot keeps readyToUse: true, though.
      readyToUse: fc.integer({ min: 0, max: 9 }),
      managed: fc.boolean(),
      protectedBy: fc.option(fc.constantFrom('keep-label', 'restore', 'on-demand'), {
        nil: undefined,
        freq: 4,
      }),
    })
    .map((s) => ({ ...s, readyToUse: s.state === 'Ready' ? s.readyToUse < 8 : s.readyToUse < 2 }));

const historyArb = fc
  .integer({ min: 0, max: 14 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => snapshotArb(i))));

const inputArb: fc.Arbitrary<RetentionInput> = fc
  .record({
    snapshots: historyArb,
    retention: retentionArb,
    timeZone: fc.constantFrom(...ZONES),
    cap: fc.integer({ min: 1, max: 10 }),
    reservedRatio: fc.double({ min: 0, max: 0.999, noNaN: true }),
    budget: fc.constantFrom('scheduled' as const, 'on-demand' as const),
    incomingKind: fc.constantFrom('none', 'new', 'new', 'new', 'existing'),
    incomingPick: fc.nat(),
  })
  .map(({ reservedRatio, incomingKind, incomingPick, ...r }) => {
    const reservedSlots = Math.floor(reservedRatio * r.cap);
    const existing = r.snapshots[incomingPick % Math.max(1, r.snapshots.length)];
    const base = { ...r, reservedSlots, now: new Date(NOW) };
    if (incomingKind === 'new')
      return { ...base, incoming: { name: 'incoming', createdAt: new Date(NOW) } };
    if (incomingKind === 'existing' && existing) {
      return { ...base, incoming: { name: existing.name, createdAt: existing.createdAt } };
    }
    return base;
  });

function newestReady(snapshots: PlanSnapshot[]): PlanSnapshot | undefined {
  return snapshots
    .filter((s) => s.state === 'Ready' && s.readyToUse)
    .reduce<PlanSnapshot | undefined>((best, s) => {
      if (!best) return s;
      const byTime = s.createdAt.getTime() - best.createdAt.getTime();
      return byTime > 0 || (byTime === 0 && s.name > best.name) ? s : best;
    }, undefined);
}

/** True when `plan` creates a snapshot that was not on the volume yet. */
function createsNew(input: RetentionInput, plan: RetentionPlan): boolean {
  const existing = input.snapshots.find((s) => s.name === input.incoming?.name);
  return (
    plan.canCreate &&
    input.incoming !== undefined &&
    (existing === undefined || existing.state === 'Failed')
  );
}

const runs = { numRuns: 1000 };

describe('planRetention properties', () => {
  it('(a) a snapshot is created only when it fits: counted − prunedFirst + 1 ≤ limit ≤ cap', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = planRetention(input);
        expect(plan.limit).toBeLessThanOrEqual(input.cap);
        const pruned = new Set(plan.prune.map((p) => p.name));
        for (const name of plan.pruneBeforeCreate) expect(pruned.has(name)).toBe(true);
        if (createsNew(input, plan)) {
          expect(input.snapshots.length - plan.pruneBeforeCreate.length + 1).toBeLessThanOrEqual(
            plan.limit,
          );
        }
        if (!plan.canCreate) {
          expect(plan.pruneBeforeCreate).toEqual([]);
          expect(plan.blockedReason).toEqual(expect.any(String));
        }
      }),
      runs,
    );
  });

  it('(b) never prunes an unmanaged, protected, Terminating, Creating or newest-ready snapshot', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = planRetention(input);
        const byName = new Map(input.snapshots.map((s) => [s.name, s]));
        const newest = newestReady(input.snapshots);
        for (const { name } of plan.prune) {
          const s = byName.get(name);
          expect(s).toBeDefined();
          if (!s) continue;
          expect(s.managed).toBe(true);
          expect(s.protectedBy).toBeUndefined();
          expect(['Ready', 'Failed']).toContain(s.state);
          expect(s).not.toBe(newest);
        }
      }),
      runs,
    );
  });

  it('(c) is deterministic and independent of input order', () => {
    const withPermutation = inputArb.chain((input) =>
      fc
        .shuffledSubarray(input.snapshots, {
          minLength: input.snapshots.length,
          maxLength: input.snapshots.length,
        })
        .map((shuffled) => [input, shuffled] as const),
    );
    fc.assert(
      fc.property(withPermutation, ([input, shuffled]) => {
        const plan = planRetention(input);
        expect(planRetention(input)).toEqual(plan);
        expect(planRetention({ ...input, snapshots: shuffled })).toEqual(plan);
      }),
      runs,
    );
  });

  it('accounts for every snapshot exactly once, plus the one it creates', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = planRetention(input);
        const decided = [...plan.keep.map((k) => k.name), ...plan.prune.map((p) => p.name)];
        const created = createsNew(input, plan) && input.incoming ? [input.incoming.name] : [];
        expect(decided.sort()).toEqual([...input.snapshots.map((s) => s.name), ...created].sort());
        expect(plan.countedAfter).toBe(input.snapshots.length - plan.prune.length + created.length);
      }),
      runs,
    );
  });
});

describe('a validated policy is never blocked by its own snapshots (simulation)', () => {
  const configArb = fc
    .record({
      retention: retentionArb,
      reservedSlots: fc.integer({ min: 0, max: 3 }),
      spare: fc.integer({ min: 0, max: 2 }),
      timeZone: fc.constantFrom(...ZONES),
      // Runs closer than a bucket (several per hour or day) and runs that cross buckets.
      gapsMinutes: fc.array(fc.constantFrom(1, 7, 30, 60, 61, 180, 1440, 1500, 10_080, 44_640), {
        minLength: 1,
        maxLength: 80,
      }),
    })
    // The tightest cap parseBackupPolicy accepts for this retention, plus some slack.
    .map((c) => ({ ...c, cap: retentionFootprint(c.retention).peak + c.reservedSlots + c.spare }));

  it('every scheduled run can create its snapshot and the volume stays within cap − reservedSlots', () => {
    fc.assert(
      fc.property(configArb, ({ retention, reservedSlots, cap, timeZone, gapsMinutes }) => {
        let volume: PlanSnapshot[] = [];
        let t = NOW;
        gapsMinutes.forEach((gap, i) => {
          t += gap * MINUTE;
          const now = new Date(t);
          const base = {
            retention,
            timeZone,
            now,
            cap,
            reservedSlots,
            budget: 'scheduled' as const,
          };
          const before = planRetention({
            ...base,
            snapshots: volume,
            incoming: { name: `r${i}`, createdAt: now },
          });
          expect(before.blockedReason).toBeUndefined();
          volume = volume.filter((s) => !before.pruneBeforeCreate.includes(s.name));
          volume.push({
            name: `r${i}`,
            createdAt: now,
            state: 'Ready',
            readyToUse: true,
            managed: true,
          });
          expect(volume.length).toBeLessThanOrEqual(cap - reservedSlots);
          const after = planRetention({ ...base, snapshots: volume });
          volume = volume.filter((s) => !after.prune.some((p) => p.name === s.name));
          expect(volume.length).toBeLessThanOrEqual(retentionFootprint(retention).retained);
        });
      }),
      { numRuns: 400 },
    );
  });
});
