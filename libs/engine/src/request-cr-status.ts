import {
  REQUEST_REASON,
  type FieldError,
  type RequestCondition,
  type RequestPhase,
  type RequestReason,
  type RestoreRequestCrStatus,
  type SnapshotRequestCrStatus,
  withoutUndefined,
} from '#lib/policy';
import type { RestoreRecord } from './request-store.js';
import type { SnapshotRequestStatus } from './snapshot-request.service.js';

/*
 * The `status` the scheduler writes on SnapshotRequest and RestoreRequest resources, computed
 * from the request's record (pure functions; the controller only compares and patches).
 * `Ready` is Unknown while pending or running, True once succeeded, False once failed; its
 * `lastTransitionTime` changes only when its status or reason does.
 */

/** Status of a SnapshotRequest from its record and per-claim results. */
export function snapshotRequestCrStatus(
  request: SnapshotRequestStatus,
  generation: number | undefined,
  now: Date,
  current?: SnapshotRequestCrStatus,
): SnapshotRequestCrStatus {
  const reason = request.timedOut ? REQUEST_REASON.deadlineExceeded : phaseReason(request.phase);
  const message = request.message ?? defaultMessage(request.phase, request.snapshots.length);
  return withoutUndefined({
    observedGeneration: generation,
    phase: request.phase,
    snapshots: request.snapshots.map((s) =>
      withoutUndefined({
        claim: s.claim,
        snapshotName: s.snapshotName,
        readyToUse: s.readyToUse,
        state: s.state,
        error: s.error,
      }),
    ),
    startTime: request.startedAt,
    completionTime: request.finishedAt,
    expiryTime: request.expiresAt,
    runId: request.runId,
    message,
    conditions: [
      readyCondition({ phase: request.phase, reason, message, generation, now, current }),
    ],
  });
}

/** Status of a RestoreRequest from its record. */
export function restoreRequestCrStatus(
  record: RestoreRecord,
  generation: number | undefined,
  now: Date,
  current?: RestoreRequestCrStatus,
): RestoreRequestCrStatus {
  const reason =
    record.phase === 'Failed' && record.field?.startsWith('spec.')
      ? REQUEST_REASON.ruleViolated
      : phaseReason(record.phase);
  const message = record.message ?? defaultMessage(record.phase);
  return withoutUndefined({
    observedGeneration: generation,
    phase: record.phase,
    claimName: record.claimName,
    quiesce: record.quiesce,
    field: record.field,
    message,
    startTime: record.startedAt,
    completionTime: record.finishedAt,
    conditions: [
      readyCondition({ phase: record.phase, reason, message, generation, now, current }),
    ],
  });
}

/**
 * A request that is refused before any work: an invalid spec (the message names every field)
 * or a name already used by another request. Final: the request is `Failed`.
 */
export function refusedRequestCrStatus(
  reason: typeof REQUEST_REASON.invalidSpec | typeof REQUEST_REASON.nameTaken,
  detail: readonly FieldError[] | string,
  generation: number | undefined,
  now: Date,
  current?: { conditions?: RequestCondition[]; completionTime?: string },
): SnapshotRequestCrStatus & RestoreRequestCrStatus {
  const message =
    typeof detail === 'string' ? detail : detail.map((e) => `${e.field}: ${e.message}`).join('; ');
  return withoutUndefined({
    observedGeneration: generation,
    phase: 'Failed' as const,
    message,
    completionTime: current?.completionTime ?? now.toISOString(),
    field: typeof detail === 'string' ? undefined : detail[0]?.field,
    conditions: [readyCondition({ phase: 'Failed', reason, message, generation, now, current })],
  });
}

/**
 * Whether writing `wanted` would change `current`: compared as JSON with keys in a stable
 * order (the API server may reorder them) and without condition transition times.
 */
export function requestStatusDiffers(current: object | undefined, wanted: object): boolean {
  return stable(withoutTransitions(current ?? {})) !== stable(withoutTransitions(wanted));
}

function phaseReason(phase: RequestPhase): RequestReason {
  switch (phase) {
    case 'Pending':
      return REQUEST_REASON.pending;
    case 'Running':
      return REQUEST_REASON.running;
    case 'Succeeded':
      return REQUEST_REASON.succeeded;
    case 'Failed':
      return REQUEST_REASON.failed;
  }
}

function defaultMessage(phase: RequestPhase, claims?: number): string {
  if (phase === 'Pending') return 'waiting for a worker';
  if (phase === 'Running' && claims !== undefined) return `${claims} claim(s) in progress`;
  return phase.toLowerCase();
}

interface ConditionInput {
  phase: RequestPhase;
  reason: RequestReason;
  message: string;
  generation: number | undefined;
  now: Date;
  current?: { conditions?: RequestCondition[] };
}

function readyCondition(input: ConditionInput): RequestCondition {
  const { phase, reason, message, generation, now, current } = input;
  const status = phase === 'Succeeded' ? 'True' : phase === 'Failed' ? 'False' : 'Unknown';
  const previous = current?.conditions?.find((c) => c.type === 'Ready');
  const unchanged = previous?.status === status && previous.reason === reason;
  return withoutUndefined({
    type: 'Ready' as const,
    status,
    reason,
    message,
    lastTransitionTime:
      unchanged && previous.lastTransitionTime ? previous.lastTransitionTime : now.toISOString(),
    observedGeneration: generation,
  });
}

function withoutTransitions(status: object): unknown {
  const { conditions, ...rest } = status as { conditions?: RequestCondition[] };
  if (!Array.isArray(conditions)) return rest;
  return { ...rest, conditions: conditions.map(({ lastTransitionTime: _t, ...c }) => c) };
}

function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
