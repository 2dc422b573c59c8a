import { nextRuns, previousRun } from '#lib/policy';

/** At most this many missed ticks of one policy are recorded at once, like CronJob's 100. */
export const MAX_MISSED_TICKS = 100;

/** Ticks of a schedule that never ran, oldest first, and whether older ones were left out. */
export interface MissedTicks {
  ticks: Date[];
  /** True when more than `limit` ticks were missed; only the latest `limit` are listed. */
  truncated: boolean;
}

/**
 * The ticks of `schedule` strictly between `after` (the last tick handled) and `before` (the
 * tick being handled now): those that never fired. The latest `limit` of them, so the cost is
 * bounded however long the outage was.
 */
export function ticksBetween(
  schedule: string,
  timeZone: string,
  after: Date,
  before: Date,
  limit = MAX_MISSED_TICKS,
): MissedTicks {
  const [first] = nextRuns(schedule, timeZone, after, 1);
  if (!first || first.getTime() >= before.getTime()) return { ticks: [], truncated: false };
  const ticks: Date[] = [];
  let cursor = new Date(before.getTime() - 1);
  for (;;) {
    const tick = previousRun(schedule, timeZone, cursor);
    if (!tick || tick.getTime() <= after.getTime())
      return { ticks: ticks.reverse(), truncated: false };
    if (ticks.length === limit) return { ticks: ticks.reverse(), truncated: true };
    ticks.push(tick);
    cursor = new Date(tick.getTime() - 1);
  }
}
