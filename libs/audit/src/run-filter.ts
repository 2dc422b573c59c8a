import { decodeRunCursor, runIndexMember, RUN_TIME_DIGITS } from './cursor.js';
import { InvalidQueryError } from './errors.js';
import { auditKeys } from './keys.js';
import { clampLimit } from './page.js';
import type { RunKind, RunRecord, RunState } from './run-record.js';

/**
 * Which runs to list, newest first (by `scheduledAt`, then id). Every given criterion must hold;
 * a list matches any of its values. Pass the same filter with each `cursor` of one listing.
 */
export interface RunFilter {
  /** `namespace/name` of the policy. */
  policy?: string;
  namespace?: string;
  /** `namespace/name` of a volume, or a bare name (with `namespace`, or in any namespace). */
  volume?: string;
  kind?: RunKind | RunKind[];
  state?: RunState | RunState[];
  /** Inclusive lower bound on `scheduledAt`. */
  since?: Date;
  /** Exclusive upper bound on `scheduledAt`. */
  until?: Date;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Page size: default 50, at most 500. */
  limit?: number;
}

/** ZRANGE BYLEX bounds (`min <= max`); `-`/`+` are open ends, `[`/`(` inclusive/exclusive. */
export interface LexRange {
  min: string;
  max: string;
}

/** A validated run query: which index to walk, where, and what to keep. */
export interface RunQueryPlan {
  index: string;
  range: LexRange;
  limit: number;
  satisfiable: boolean;
  selective: boolean;
  matches: (record: RunRecord) => boolean;
}

type Check = (record: RunRecord) => boolean;

function listOf<T>(value: T | T[] | undefined): readonly T[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

function splitVolume(filter: RunFilter): { namespace?: string; name: string } | undefined {
  if (filter.volume === undefined) return undefined;
  const slash = filter.volume.indexOf('/');
  if (slash < 0) {
    return filter.namespace === undefined
      ? { name: filter.volume }
      : { namespace: filter.namespace, name: filter.volume };
  }
  return { namespace: filter.volume.slice(0, slash), name: filter.volume.slice(slash + 1) };
}

function buildChecks(filter: RunFilter): Check[] {
  const checks: Check[] = [];
  const { policy, namespace } = filter;
  if (policy !== undefined) checks.push((r) => r.policy === policy);
  if (namespace !== undefined) checks.push((r) => r.namespace === namespace);
  const volume = splitVolume(filter);
  if (volume) {
    checks.push(
      (r) =>
        (volume.namespace === undefined || r.namespace === volume.namespace) &&
        r.volumes.some((v) => v.volume === volume.name),
    );
  }
  const kinds = listOf(filter.kind);
  if (kinds) checks.push((r) => kinds.includes(r.kind));
  const states = listOf(filter.state);
  if (states) checks.push((r) => states.includes(r.state));
  return checks;
}

/** The narrowest index that holds every run the filter can match. */
function chooseIndex(prefix: string, filter: RunFilter): string {
  const volume = splitVolume(filter);
  if (volume?.namespace !== undefined) {
    return auditKeys.volumeRuns(prefix, volume.namespace, volume.name);
  }
  if (filter.policy !== undefined) return auditKeys.policyRuns(prefix, filter.policy);
  return auditKeys.runs(prefix);
}

function timeMs(field: 'since' | 'until', value: Date | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidQueryError(field, 'invalid time');
  return ms;
}

/** Zero-padded time prefix of index members at `ms`. */
export function timePrefix(ms: number): string {
  return String(Math.trunc(ms)).padStart(RUN_TIME_DIGITS, '0');
}

function buildRange(filter: RunFilter): LexRange & { empty: boolean } {
  const since = timeMs('since', filter.since);
  const until = timeMs('until', filter.until);
  const min = since === undefined ? '-' : `[${timePrefix(since)}`;
  let max = until === undefined ? '+' : `(${timePrefix(until)}`;
  if (filter.cursor !== undefined) {
    const after = `(${runIndexMember(decodeRunCursor(filter.cursor))}`;
    if (max === '+' || after < max) max = after;
  }
  const empty = since !== undefined && until !== undefined && since >= until;
  return { min, max, empty };
}

/**
 * Validates a filter and turns it into a plan over one run index.
 * @throws InvalidQueryError for a malformed cursor (`cursor`) or an invalid time (`since`, `until`).
 */
export function planRunQuery(prefix: string, filter: RunFilter): RunQueryPlan {
  const { min, max, empty } = buildRange(filter);
  const checks = buildChecks(filter);
  return {
    index: chooseIndex(prefix, filter),
    range: { min, max },
    limit: clampLimit(filter.limit),
    satisfiable: !empty,
    selective: checks.length > 0,
    matches: (record) => checks.every((check) => check(record)),
  };
}
