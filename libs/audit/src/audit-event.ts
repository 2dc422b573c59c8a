/** Every kind of state change snapwarden records (invariant 6: every state change is an event). */
export const AUDIT_EVENT_TYPES = [
  'policy.applied',
  'policy.invalid',
  'policy.removed',
  'run.started',
  'run.finished',
  'run.missed',
  'run.skipped',
  'snapshot.started',
  'snapshot.created',
  'snapshot.adopted',
  'snapshot.ready',
  'snapshot.failed',
  'snapshot.blocked',
  'snapshot.deleted',
  'snapshot.delete-failed',
  'job.retrying',
  'job.failed',
  'restore.started',
  'restore.succeeded',
  'restore.failed',
  'request.started',
  'request.succeeded',
  'request.failed',
  'api.refused',
  'hook.started',
  'hook.succeeded',
  'hook.failed',
  'hook.skipped',
  'quiesce.scaled-down',
  'quiesce.drained',
  'quiesce.restored',
  'quiesce.failed',
] as const;

/** What happened; one of {@link AUDIT_EVENT_TYPES}. */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** How the step ended, for filtering and colouring; `info` for changes without a result. */
export const AUDIT_OUTCOMES = [
  'started',
  'succeeded',
  'failed',
  'skipped',
  'missed',
  'info',
] as const;

/** One of {@link AUDIT_OUTCOMES}. */
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Free-form, flat attributes of an event (stored as one JSON field). */
export type AuditAttributes = Record<string, string | number | boolean>;

/**
 * One state change as the engine reports it: what (`type`, `outcome`), which policy and
 * volume, who or what triggered it, when, how long, and the error text when it failed.
 */
export interface AuditEventInput {
  type: AuditEventType;
  outcome: AuditOutcome;
  /** Who or what caused it: `schedule`, `file:policies/x.yaml`, `api:<client>`, `cli`, `retention`, `cleanup:ttl`. */
  trigger: string;
  /** `namespace/name` of the policy. */
  policy?: string;
  namespace?: string;
  /** Volume (claim or directory) name inside `namespace`. */
  volume?: string;
  snapshot?: string;
  runId?: string;
  jobId?: string;
  durationMs?: number;
  /** The error text when the step failed. */
  error?: string;
  message?: string;
  reason?: string;
  attributes?: AuditAttributes;
  /** When the change happened; defaults to the time of `append`. */
  time?: Date;
}

/** A stored event: its stream entry id (ordered, usable as a cursor) and its ISO time. */
export interface AuditEvent extends Omit<AuditEventInput, 'time'> {
  /** Redis stream entry id (`<ms>-<seq>`): unique, increasing in append order. */
  id: string;
  /** ISO 8601 time of the change. */
  time: string;
}

const EVENT_TYPES: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);
const OUTCOMES: ReadonlySet<string> = new Set(AUDIT_OUTCOMES);

/** Whether `value` names a known event type (for validating filters and stored entries). */
export function isAuditEventType(value: string): value is AuditEventType {
  return EVENT_TYPES.has(value);
}

/** Whether `value` names a known outcome. */
export function isAuditOutcome(value: string): value is AuditOutcome {
  return OUTCOMES.has(value);
}
