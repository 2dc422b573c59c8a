import { DateTime } from 'luxon';
import { InvalidQueryError } from './errors.js';
import type { RunState } from './run-record.js';

/** Finished runs of one calendar day (in the requested time zone), by result. */
export interface DailyRunCounts {
  /** `YYYY-MM-DD` in the requested time zone. */
  day: string;
  succeeded: number;
  failed: number;
  partial: number;
  missed: number;
  skipped: number;
}

/** A run as the daily chart sees it: when it was scheduled and how it ended. */
export interface RunTick {
  timeMs: number;
  state: RunState;
}

/** Longest range `dailyCounts` accepts, in days. */
export const MAX_DAILY_RANGE_DAYS = 1_000;

/**
 * Checks a chart range and time zone.
 * @throws InvalidQueryError naming `timeZone`, `since` or `until`.
 */
export function validateDailyRange(since: Date, until: Date, timeZone: string): void {
  if (!DateTime.now().setZone(timeZone).isValid) {
    throw new InvalidQueryError('timeZone', `unknown time zone ${timeZone}`);
  }
  if (!Number.isFinite(since.getTime())) throw new InvalidQueryError('since', 'invalid time');
  if (!Number.isFinite(until.getTime())) throw new InvalidQueryError('until', 'invalid time');
  if (until.getTime() - since.getTime() > MAX_DAILY_RANGE_DAYS * 86_400_000) {
    throw new InvalidQueryError('until', `range longer than ${MAX_DAILY_RANGE_DAYS} days`);
  }
}

function emptyDay(day: string): DailyRunCounts {
  return { day, succeeded: 0, failed: 0, partial: 0, missed: 0, skipped: 0 };
}

/** Every calendar day in `timeZone` that `[since, until)` touches, oldest first. */
export function daysBetween(since: Date, until: Date, timeZone: string): string[] {
  const days: string[] = [];
  const end = DateTime.fromJSDate(until, { zone: timeZone });
  let day = DateTime.fromJSDate(since, { zone: timeZone }).startOf('day');
  while (day < end) {
    days.push(day.toISODate() ?? '');
    day = day.plus({ days: 1 });
  }
  return days;
}

/**
 * Buckets runs by the calendar day of their scheduled time in `timeZone`; every day of the
 * range appears, also without runs. Running runs are not counted (they have no result yet).
 */
export function countByDay(
  ticks: Iterable<RunTick>,
  since: Date,
  until: Date,
  timeZone: string,
): DailyRunCounts[] {
  const byDay = new Map(daysBetween(since, until, timeZone).map((d) => [d, emptyDay(d)]));
  for (const tick of ticks) {
    const day = DateTime.fromMillis(tick.timeMs, { zone: timeZone }).toISODate() ?? '';
    const counts = byDay.get(day);
    if (counts) add(counts, tick.state);
  }
  return [...byDay.values()];
}

function add(counts: DailyRunCounts, state: RunState): void {
  switch (state) {
    case 'succeeded':
    case 'failed':
    case 'partial':
    case 'missed':
    case 'skipped':
      counts[state] += 1;
      return;
    case 'running':
      return;
  }
}
