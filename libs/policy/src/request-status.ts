/*
 * The `status` of the SnapshotRequest and RestoreRequest custom resources, as the scheduler
 * writes it and as the CLI (with --kube) reads it. The CRD status schemas in crd.ts follow
 * these types.
 */

/** Lifecycle of a request; `Succeeded` and `Failed` are final. */
export type RequestPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** Progress of one claim of a SnapshotRequest. */
export type ClaimSnapshotState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

/**
 * Reasons of a request's `Ready` condition. `Ready` is `Unknown` while the request is pending
 * or running, `True` once it succeeded, `False` once it failed.
 */
export const REQUEST_REASON = {
  /** Accepted, waiting for a worker. */
  pending: 'Pending',
  /** A worker is taking the snapshots (or restoring). */
  running: 'Running',
  succeeded: 'Succeeded',
  /** At least one claim failed (SnapshotRequest) or the restore failed. */
  failed: 'Failed',
  /** `spec.timeoutSeconds` passed before every snapshot was ready. */
  deadlineExceeded: 'DeadlineExceeded',
  /** The spec does not validate; the message names the field. */
  invalidSpec: 'InvalidSpec',
  /** A restore rule is broken (size, storage class, access modes, mode); `status.field` names it. */
  ruleViolated: 'RestoreRuleViolated',
  /** The name was already used by another request (names are single-use; history is kept). */
  nameTaken: 'NameTaken',
} as const;
export type RequestReason = (typeof REQUEST_REASON)[keyof typeof REQUEST_REASON];

/** metav1.Condition as the requests use it (one entry, type `Ready`). */
export interface RequestCondition {
  type: 'Ready';
  status: 'True' | 'False' | 'Unknown';
  reason: RequestReason;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** One claim of a SnapshotRequest (`status.snapshots[]`). */
export interface ClaimSnapshotStatus {
  claim: string;
  snapshotName?: string;
  readyToUse: boolean;
  state: ClaimSnapshotState;
  error?: string;
}

/** `status` of a SnapshotRequest. */
export interface SnapshotRequestCrStatus {
  observedGeneration?: number;
  phase: RequestPhase;
  snapshots?: ClaimSnapshotStatus[];
  startTime?: string;
  completionTime?: string;
  /** When the request's snapshots expire (`spec.ttl` after creation); absent for ttl `0`. */
  expiryTime?: string;
  /** Job history entry of the request, as in `GET /api/v1/runs/{id}`. */
  runId?: string;
  /** For a refused request: the first invalid field (`spec.ttl`…); the message names all. */
  field?: string;
  message?: string;
  conditions?: RequestCondition[];
}

/** `status` of a RestoreRequest. */
export interface RestoreRequestCrStatus {
  observedGeneration?: number;
  phase: RequestPhase;
  claimName?: string;
  /** For a quiesced rollback: its step and workloads (`ScaledDown: Deployment/web=2`…). */
  quiesce?: string;
  /** For a failed restore: the field whose rule is broken (`spec.target.size`, `spec.mode`…). */
  field?: string;
  message?: string;
  startTime?: string;
  completionTime?: string;
  conditions?: RequestCondition[];
}

/** Whether a phase is final. */
export function isFinalRequestPhase(phase: RequestPhase | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}
