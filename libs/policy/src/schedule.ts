import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { isValidTimeZone } from './time-zone.js';

const MACROS: Readonly<Record<string, string>> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

/** A field made of `H` (hashed value): cron-parser picks it at random unless seeded. */
const HASHED_FIELD = /(^|[\s,])H([\s,/(]|$)/i;
const MAX_FORWARD_STEPS = 10_000;

/**
 * Normalises a schedule to the cron text handed to BullMQ: macros (`@hourly`, `@daily`,
 * `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually`) become 5-field cron; 5-field and
 * 6-field (seconds first) cron are returned with whitespace collapsed.
 *
 * Invariant: the output names the same instants as the input. Throws an `Error` with a message
 * fit for a user for anything else (unknown macro, wrong field count, hashed `H` fields, which
 * would fire at a random minute instead of the projected one). Field values are checked by
 * {@link validateSchedule}.
 */
export function normalizeSchedule(schedule: string): string {
  const text = schedule.trim().replace(/\s+/g, ' ');
  if (text.startsWith('@')) {
    const expanded = MACROS[text.toLowerCase()];
    if (expanded === undefined) {
      throw new Error(
        `unknown schedule macro "${text}": use one of ${Object.keys(MACROS).join(', ')}`,
      );
    }
    return expanded;
  }
  const fields = text === '' ? 0 : text.split(' ').length;
  if (fields !== 5 && fields !== 6) {
    throw new Error(
      `schedule "${schedule}" has ${fields} fields: expected 5 (minute hour day-of-month month ` +
        'day-of-week), 6 (seconds first) or a macro such as @daily',
    );
  }
  if (HASHED_FIELD.test(text)) {
    throw new Error(`schedule "${schedule}" uses a hashed field (H): use jitterSeconds instead`);
  }
  return text;
}

/**
 * Returns why `schedule` cannot drive a policy, or `undefined` when it is valid: it normalises
 * (see {@link normalizeSchedule}), every field is in range, and it fires at least once.
 * Never throws.
 */
export function validateSchedule(schedule: string): string | undefined {
  let cron: string;
  try {
    cron = normalizeSchedule(schedule);
  } catch (error) {
    return messageOf(error);
  }
  try {
    parse(cron, 'UTC', new Date(0)).next();
    return undefined;
  } catch (error) {
    return `invalid schedule "${schedule}": ${messageOf(error)}`;
  }
}

/**
 * The next `count` run times strictly after `after`, as BullMQ's job scheduler fires them (it
 * uses the same cron-parser with the same `tz`). Daylight-saving rule: a local time that does
 * not exist (spring forward) runs shifted forward by the gap; one that exists twice (fall back)
 * runs once, at its first occurrence. Throws for an invalid schedule or time zone.
 */
export function nextRuns(schedule: string, timeZone: string, after: Date, count: number): Date[] {
  const expression = parseChecked(schedule, timeZone, after);
  const runs: Date[] = [];
  while (runs.length < count && expression.hasNext()) runs.push(expression.next().toDate());
  return runs;
}

/**
 * The latest run at or before `at`, consistent with {@link nextRuns} (also across DST changes),
 * or `undefined` when the schedule never ran before. Throws for an invalid schedule or zone.
 */
export function previousRun(schedule: string, timeZone: string, at: Date): Date | undefined {
  const probe = parseChecked(schedule, timeZone, new Date(at.getTime() + 1));
  // cron-parser's backward search disagrees with its forward one around DST changes (it picks
  // the second 02:30 on a fall-back day), so step back twice and replay forwards.
  let start: Date | undefined;
  for (let step = 0; step < 2 && probe.hasPrev(); step++) start = probe.prev().toDate();
  if (start === undefined) return undefined;
  const forward = parseChecked(schedule, timeZone, new Date(start.getTime() - 1));
  let last: Date | undefined;
  for (let step = 0; step < MAX_FORWARD_STEPS && forward.hasNext(); step++) {
    const run = forward.next().toDate();
    if (run.getTime() > at.getTime()) break;
    last = run;
  }
  return last;
}

/**
 * Milliseconds between the first two runs strictly after `at` (the expected gap between runs,
 * for alert thresholds). Across a DST change this is the real elapsed time, e.g. 23 h for a
 * daily schedule over a spring-forward night. Throws for an invalid schedule or time zone.
 */
export function intervalMs(schedule: string, timeZone: string, at: Date): number {
  const [first, second] = nextRuns(schedule, timeZone, at, 2);
  if (first === undefined || second === undefined) {
    throw new Error(`schedule "${schedule}" does not fire twice after ${at.toISOString()}`);
  }
  return second.getTime() - first.getTime();
}

function parseChecked(schedule: string, timeZone: string, currentDate: Date): CronExpression {
  if (!isValidTimeZone(timeZone)) throw new Error(`unknown time zone "${timeZone}"`);
  const problem = validateSchedule(schedule);
  if (problem !== undefined) throw new Error(problem);
  return parse(normalizeSchedule(schedule), timeZone, currentDate);
}

function parse(cron: string, timeZone: string, currentDate: Date): CronExpression {
  return CronExpressionParser.parse(cron, { tz: timeZone, currentDate });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
