import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { IANAZone } from 'luxon';
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
const DAY_MS = 86_400_000;
/**
 * Schedules remembered by {@link validateSchedule} and {@link nextRuns}: a fleet shares a few
 * schedules, and parsing one costs more than projecting it. Longer texts are never remembered.
 */
const MEMO_ENTRIES = 1000;
const MEMO_MAX_TEXT = 200;
/** Zones whose offset is always 0: their offsets need no Intl lookup. */
const UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Etc/Universal', 'Etc/Zulu']);
/** What {@link validateSchedule} answered, by schedule text. */
const validated = new Map<string, { problem: string | undefined }>();
/** Clocks by zone and schedule text. */
const clocks = new Map<string, ScheduleClock>();

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
  const known = validated.get(schedule);
  if (known !== undefined) return known.problem;
  const problem = checkSchedule(schedule);
  remember(validated, schedule, { problem });
  return problem;
}

function checkSchedule(schedule: string): string | undefined {
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
 * The next `count` run times strictly after `after`. This is the one schedule clock: the
 * scheduler hands it to BullMQ as the tick queue's repeat strategy (see `#lib/queues`), so what
 * fires is what this projects. The cron fields are matched against wall-clock time in
 * `timeZone`; daylight-saving rules:
 * - a wall-clock time that does not exist (spring forward) runs shifted forward by the gap
 *   (02:30 in a 02:00→03:00 gap runs at 03:30; 00:00 in a 00:00→01:00 gap at 01:00); times
 *   that shift onto the same instant run once;
 * - a wall-clock time that exists twice (fall back) runs once, at its first occurrence, unless
 *   the schedule fires in every hour of the day (hour field `*`): such a schedule runs in both
 *   occurrences, so `0 * * * *` keeps one run per real hour.
 * Throws for an invalid schedule or time zone.
 */
export function nextRuns(schedule: string, timeZone: string, after: Date, count: number): Date[] {
  const clock = scheduleClock(schedule, timeZone);
  const runs: Date[] = [];
  let from = after.getTime();
  while (runs.length < count) {
    const run = nextInstant(clock, from);
    if (run === undefined) break;
    runs.push(new Date(run));
    from = run;
  }
  return runs;
}

/**
 * The latest run at or before `at`, consistent with {@link nextRuns} (also across DST changes),
 * or `undefined` when the schedule never ran before. Throws for an invalid schedule or zone.
 */
export function previousRun(schedule: string, timeZone: string, at: Date): Date | undefined {
  const run = previousInstant(scheduleClock(schedule, timeZone), at.getTime());
  return run === undefined ? undefined : new Date(run);
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

/**
 * The shortest gap, in milliseconds, between two consecutive runs of a valid schedule in
 * wall-clock time (a day without a clock change): 3 600 000 for `@hourly`, 86 400 000 for
 * `0 0 * * 1-5`. Throws for an invalid schedule.
 */
export function shortestIntervalMs(schedule: string): number {
  const problem = validateSchedule(schedule);
  if (problem !== undefined) throw new Error(problem);
  const cron = normalizeSchedule(schedule);
  const floor = cron.split(' ').length === 6 ? 1000 : 60_000;
  // From a leap year's first day, over at most 1000 runs or 8 years, whichever ends first.
  const expression = parse(cron, 'UTC', new Date(Date.UTC(2000, 0, 1) - 1));
  const end = Date.UTC(2008, 0, 1);
  let previous = expression.next().getTime();
  let shortest = Number.POSITIVE_INFINITY;
  for (let step = 0; step < 1000 && shortest > floor; step++) {
    const run = expression.next().getTime();
    shortest = Math.min(shortest, run - previous);
    if (run > end) break;
    previous = run;
  }
  return shortest;
}

interface ScheduleClock {
  cron: string;
  zone: IANAZone;
  /** Fires in every hour of the day, so both occurrences of a repeated hour run. */
  everyHour: boolean;
  /** The zone is UTC: every offset is 0. */
  utc: boolean;
  /**
   * The cron over wall-clock time (as UTC), parsed once and moved with `reset`: projections are
   * synchronous, so one expression per clock is never used by two at once.
   */
  walls: CronExpression;
  /**
   * Recent projections, newest last: no run falls in (`after`, `run`), so the next run strictly
   * after any instant in [`after`, `run`) is `run`. Policies sharing a schedule are upserted
   * and ticked together, and each tick asks for two spans (missed ticks since the policy's last
   * change, then the next tick), so a few spans are kept, each widened to the earliest `after`
   * that found its run.
   */
  spans: { after: number; run: number }[];
}

/** Spans of {@link ScheduleClock.spans} kept per clock. */
const SPANS_KEPT = 4;

/** The clock of a schedule in a zone; throws for an invalid schedule or zone. */
function scheduleClock(schedule: string, timeZone: string): ScheduleClock {
  const id = `${timeZone} ${schedule}`;
  const known = clocks.get(id);
  if (known) return known;
  if (!isValidTimeZone(timeZone)) throw new Error(`unknown time zone "${timeZone}"`);
  const problem = validateSchedule(schedule);
  if (problem !== undefined) throw new Error(problem);
  const cron = normalizeSchedule(schedule);
  const walls = parse(cron, 'UTC', new Date(0));
  const clock: ScheduleClock = {
    cron,
    zone: IANAZone.create(timeZone),
    everyHour: walls.fields.hour.values.length === 24,
    utc: UTC_ZONES.has(timeZone),
    walls,
    spans: [],
  };
  remember(clocks, id, clock);
  return clock;
}

/** Remembers a value of a short key, forgetting the oldest entry beyond {@link MEMO_ENTRIES}. */
function remember<T>(memo: Map<string, T>, key: string, value: T): void {
  if (key.length > MEMO_MAX_TEXT) return;
  if (memo.size >= MEMO_ENTRIES) memo.delete(memo.keys().next().value as string);
  memo.set(key, value);
}

/**
 * The earliest run strictly after `after`: the least instant > `after` that any matching
 * wall-clock time maps to. Wall-clock times are enumerated as UTC (no DST there), starting
 * `slack` early, because a time in a gap or a repeated hour maps up to `slack` later.
 */
function nextInstant(clock: ScheduleClock, after: number): number | undefined {
  const { spans } = clock;
  for (const span of spans) if (span.after <= after && after < span.run) return span.run;
  const run = searchNextInstant(clock, after);
  if (run === undefined) return undefined;
  const same = spans.find((span) => span.run === run);
  if (same) same.after = Math.min(same.after, after);
  else {
    if (spans.length >= SPANS_KEPT) spans.shift();
    spans.push({ after, run });
  }
  return run;
}

function searchNextInstant(clock: ScheduleClock, after: number): number | undefined {
  const wallAfter = after + offsetOf(clock, after);
  const walls = clock.walls;
  walls.reset(new Date(wallAfter - slackNear(clock, after) - 1000));
  let best: number | undefined;
  let bestWall = 0;
  let stopSlack = 0;
  for (let step = 0; step < MAX_FORWARD_STEPS; step++) {
    const wall = stepOrUndefined(() => walls.next().getTime());
    if (wall === undefined || (best !== undefined && wall > bestWall + stopSlack)) break;
    for (const instant of instantsOf(clock, wall)) {
      if (instant > after && (best === undefined || instant < best)) {
        best = instant;
        bestWall = wall;
        // A later wall-clock time can still map earlier if a clock change is near the best.
        stopSlack = slackNear(clock, instant);
      }
    }
  }
  return best;
}

/** The latest run at or before `at`; the mirror image of {@link nextInstant}. */
function previousInstant(clock: ScheduleClock, at: number): number | undefined {
  const wallAt = at + offsetOf(clock, at);
  const walls = clock.walls;
  walls.reset(new Date(wallAt + slackNear(clock, at) + 1000));
  let best: number | undefined;
  let bestWall = 0;
  let stopSlack = 0;
  for (let step = 0; step < MAX_FORWARD_STEPS; step++) {
    const wall = stepOrUndefined(() => walls.prev().getTime());
    if (wall === undefined || (best !== undefined && wall < bestWall - stopSlack)) break;
    for (const instant of instantsOf(clock, wall)) {
      if (instant <= at && (best === undefined || instant > best)) {
        best = instant;
        bestWall = wall;
        stopSlack = slackNear(clock, instant);
      }
    }
  }
  return best;
}

/**
 * The instants a wall-clock time (given as UTC millis) runs at: the one instant showing it; in
 * a gap, the instant shifted forward by the gap; in a repeated hour, the first occurrence, or
 * both for a schedule that fires every hour.
 */
function instantsOf(clock: ScheduleClock, wall: number): number[] {
  const before = offsetOf(clock, wall - DAY_MS);
  const after = offsetOf(clock, wall + DAY_MS);
  const offsets = before === after ? [before] : [before, after];
  const valid = offsets
    .map((offset) => wall - offset)
    .filter((instant) => instant + offsetOf(clock, instant) === wall)
    .sort((a, b) => a - b);
  if (valid.length === 0) return [wall - before];
  return clock.everyHour ? valid : valid.slice(0, 1);
}

/**
 * How far a wall-clock time near `at` can map from where it would without a clock change: the
 * size of a clock change within that distance of `at`, else 0 (the common case, which keeps
 * per-second schedules cheap away from clock changes).
 */
function slackNear(clock: ScheduleClock, at: number): number {
  if (clock.utc) return 0;
  const spread = offsetSpread(clock, [at - 2 * DAY_MS, at, at + 2 * DAY_MS]);
  if (spread === 0) return 0;
  return offsetSpread(clock, [at - spread, at, at + spread]) === 0 ? 0 : spread;
}

function offsetSpread(clock: ScheduleClock, instants: number[]): number {
  const offsets = instants.map((t) => offsetOf(clock, t));
  return Math.max(...offsets) - Math.min(...offsets);
}

function offsetOf(clock: ScheduleClock, at: number): number {
  return clock.utc ? 0 : clock.zone.offset(at) * 60_000;
}

function stepOrUndefined(step: () => number): number | undefined {
  try {
    return step();
  } catch {
    // cron-parser throws when the schedule has no further run in its range.
    return undefined;
  }
}

function parse(cron: string, timeZone: string, currentDate: Date): CronExpression {
  return CronExpressionParser.parse(cron, { tz: timeZone, currentDate });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
