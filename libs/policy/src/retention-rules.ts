import { DateTime } from 'luxon';
import type { KeepRule, Retention } from './policy.schema.js';

/** Calendar period of a bucketed keep rule. */
export type RetentionPeriod = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';

const PERIOD_RULES: readonly { rule: KeepRule; period: RetentionPeriod }[] = [
  { rule: 'keepHourly', period: 'hourly' },
  { rule: 'keepDaily', period: 'daily' },
  { rule: 'keepWeekly', period: 'weekly' },
  { rule: 'keepMonthly', period: 'monthly' },
  { rule: 'keepYearly', period: 'yearly' },
];

/**
 * The bucket of an instant for a period, in `timeZone`: `2026-11-20T14:00+01:00` (hourly; the
 * offset keeps the two 02:00 hours of a fall-back night apart), `2026-11-20` (local calendar
 * day, 23 or 25 h long across DST), `2026-W47` (ISO week, with its ISO week-year), `2026-11`,
 * `2026`. Equal strings mean the same bucket; later buckets sort after earlier ones.
 */
export function retentionBucket(at: Date, timeZone: string, period: RetentionPeriod): string {
  return bucketOf(DateTime.fromJSDate(at, { zone: timeZone }), period);
}

function bucketOf(local: DateTime, period: RetentionPeriod): string {
  switch (period) {
    case 'hourly':
      return local.toFormat("yyyy-MM-dd'T'HH:00ZZ");
    case 'daily':
      return local.toFormat('yyyy-MM-dd');
    case 'weekly':
      return local.toFormat("kkkk-'W'WW");
    case 'monthly':
      return local.toFormat('yyyy-MM');
    case 'yearly':
      return local.toFormat('yyyy');
  }
}

/** A snapshot as the keep rules see it. */
export interface RuleCandidate {
  name: string;
  createdAt: Date;
}

/**
 * Applies the keep rules with restic semantics to `newestFirst` (ready snapshots, newest
 * first) and returns, for each kept name, why: `last`, `daily 2026-11-20`, `weekly 2026-W47`…
 *
 * `keepLast n` keeps the n newest; a bucketed rule with count n keeps the newest snapshot of each
 * of the n most recent buckets that hold one. The result is the union of all rules. `maxAge` is
 * not applied here.
 */
export function selectByRules(
  newestFirst: readonly RuleCandidate[],
  retention: Retention,
  timeZone: string,
): Map<string, string[]> {
  const reasons = new Map<string, string[]>();
  const add = (name: string, reason: string) =>
    reasons.set(name, [...(reasons.get(name) ?? []), reason]);
  for (const candidate of newestFirst.slice(0, retention.keepLast ?? 0))
    add(candidate.name, 'last');
  // Local times are computed once per candidate and only as far as some rule looks.
  const locals: DateTime[] = [];
  for (const { rule, period } of PERIOD_RULES) {
    let remaining = retention[rule] ?? 0;
    let previous: string | undefined;
    for (const [i, candidate] of newestFirst.entries()) {
      if (remaining <= 0) break;
      const local = (locals[i] ??= DateTime.fromJSDate(candidate.createdAt, { zone: timeZone }));
      const bucket = bucketOf(local, period);
      if (bucket === previous) continue;
      previous = bucket;
      remaining--;
      add(candidate.name, `${period} ${bucket}`);
    }
  }
  return reasons;
}
