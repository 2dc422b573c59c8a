import type { AuditEvent, AuditEventType, AuditOutcome } from './audit-event.js';
import { compareStreamIds, decodeStreamCursor } from './cursor.js';
import { InvalidQueryError } from './errors.js';
import { clampLimit } from './page.js';

/** Newest first (`desc`, the default) or oldest first. */
export type QueryOrder = 'desc' | 'asc';

/**
 * Which audit events to list. Every given criterion must hold (AND); a list matches any of
 * its values. Pass the same filter with each `cursor` of one listing.
 */
export interface AuditFilter {
  /** `namespace/name` of the policy. */
  policy?: string;
  namespace?: string;
  /** A volume name, or `namespace/name` to pin the namespace too. */
  volume?: string;
  snapshot?: string;
  runId?: string;
  type?: AuditEventType | AuditEventType[];
  outcome?: AuditOutcome | AuditOutcome[];
  /** Inclusive lower bound on the time the event was recorded (its stream id). */
  since?: Date;
  /** Exclusive upper bound on the time the event was recorded (its stream id). */
  until?: Date;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Page size: default 50, at most 500. */
  limit?: number;
  order?: QueryOrder;
}

/** XRANGE-style bounds, `start <= end`; an id prefixed with `(` is exclusive. */
export interface StreamRange {
  start: string;
  end: string;
}

/** A validated audit query, ready for scanning the stream. */
export interface AuditQueryPlan {
  order: QueryOrder;
  limit: number;
  range: StreamRange;
  /** False when the time range is empty: nothing can match. */
  satisfiable: boolean;
  /** True when some criterion besides the time range must be checked per entry. */
  selective: boolean;
  matches: (event: AuditEvent) => boolean;
}

type Check = (event: AuditEvent) => boolean;

function listOf<T>(value: T | T[] | undefined): readonly T[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

function timeMs(field: 'since' | 'until', value: Date | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidQueryError(field, 'invalid time');
  return ms;
}

function volumeCheck(volume: string): Check {
  const slash = volume.indexOf('/');
  if (slash < 0) return (e) => e.volume === volume;
  const namespace = volume.slice(0, slash);
  const name = volume.slice(slash + 1);
  return (e) => e.volume === name && e.namespace === namespace;
}

function buildChecks(filter: AuditFilter): Check[] {
  const checks: Check[] = [];
  const exact = (['policy', 'namespace', 'snapshot', 'runId'] as const).filter(
    (field) => filter[field] !== undefined,
  );
  for (const field of exact) checks.push((e) => e[field] === filter[field]);
  if (filter.volume !== undefined) checks.push(volumeCheck(filter.volume));
  const types = listOf(filter.type);
  if (types) checks.push((e) => types.includes(e.type));
  const outcomes = listOf(filter.outcome);
  if (outcomes) checks.push((e) => outcomes.includes(e.outcome));
  return checks;
}

function tighter(a: string, b: string, pick: 'min' | 'max'): string {
  const order = compareStreamIds(a.replace('(', ''), b.replace('(', ''));
  if (order === 0) return a.startsWith('(') ? a : b;
  return order < 0 === (pick === 'min') ? a : b;
}

function buildRange(filter: AuditFilter, order: QueryOrder): StreamRange & { empty: boolean } {
  const since = timeMs('since', filter.since);
  const until = timeMs('until', filter.until);
  let start = since === undefined ? '-' : `${since}-0`;
  let end = until === undefined ? '+' : `(${until}-0`;
  if (filter.cursor !== undefined) {
    const after = `(${decodeStreamCursor(filter.cursor)}`;
    if (order === 'desc') end = end === '+' ? after : tighter(end, after, 'min');
    else start = start === '-' ? after : tighter(start, after, 'max');
  }
  const empty = since !== undefined && until !== undefined && since >= until;
  return { start, end, empty };
}

/**
 * Validates a filter and turns it into a scan plan.
 * @throws InvalidQueryError for a malformed cursor (`cursor`) or an invalid time (`since`, `until`).
 */
export function planAuditQuery(filter: AuditFilter): AuditQueryPlan {
  const order = filter.order ?? 'desc';
  const { start, end, empty } = buildRange(filter, order);
  const checks = buildChecks(filter);
  return {
    order,
    limit: clampLimit(filter.limit),
    range: { start, end },
    satisfiable: !empty,
    selective: checks.length > 0,
    matches: (event) => checks.every((check) => check(event)),
  };
}
