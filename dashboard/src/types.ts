/** A page of a list endpoint. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** One volume of a run. */
export interface VolumeResult {
  volume: string;
  state: string;
  snapshot?: string;
  error?: string;
  reason?: string;
  durationMs?: number;
}

/** A run as `GET /api/v1/runs` returns it. */
export interface Run {
  id: string;
  kind: string;
  policy?: string;
  namespace: string;
  trigger: string;
  scheduledAt?: string;
  createdAt: string;
  finishedAt?: string;
  durationMs?: number;
  state: string;
  message?: string;
  volumes: VolumeResult[];
}

/** A policy's spec, as far as the dashboard reads it. */
export interface PolicySpec {
  schedule: string;
  timeZone?: string;
  suspend?: boolean;
  claimNames?: string[];
  selector?: unknown;
  retention?: Record<string, number | undefined>;
  [field: string]: unknown;
}

/** A policy as `GET /api/v1/policies` returns it. */
export interface Policy {
  key: string;
  source?: string;
  appliedAt?: string;
  nextRunTime?: string;
  spec: PolicySpec;
  lastRun?: { id: string; state: string; scheduledAt: string; finishedAt?: string };
}

/** One field of an invalid policy source. */
export interface FieldError {
  field: string;
  message: string;
}

/** A policy source that failed validation (`problems` of `GET /api/v1/policies`). */
export interface PolicyProblem {
  source: string;
  key?: string;
  errors: FieldError[];
  seenAt: string;
  since?: string;
}

/** A condition of a policy (`GET /api/v1/policies/:ns/:name`). */
export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** One policy with its next runs and conditions. */
export interface PolicyDetail extends Policy {
  nextRuns: string[];
  conditions: Condition[];
}

/** A volume as `GET /api/v1/volumes` returns it. */
export interface VolumeView {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  snapshots: number;
  cap: number;
  lastReadySnapshot?: string;
  lastReadyTime?: string;
  policyIntervalSeconds?: number;
  sizeBytes?: number;
  policies?: string[];
  lastResult?: { runId: string; kind: string; state: string; error?: string; at: string };
}

/** A snapshot as `GET /api/v1/snapshots` returns it. */
export interface Snapshot {
  namespace: string;
  name: string;
  volumeName: string;
  createdAt: string;
  state: string;
  readyToUse: boolean;
  error?: string;
  restoreSizeBytes?: number;
  expiresAt?: string;
  labels?: Record<string, string>;
  origin?:
    | { kind: 'policy'; policy: string }
    | { kind: 'on-demand'; request: string; reason?: string }
    | { kind: 'other' };
}

/** An audit event. */
export interface AuditEvent {
  id: string;
  time: string;
  type: string;
  outcome: string;
  trigger: string;
  policy?: string;
  namespace?: string;
  volume?: string;
  snapshot?: string;
  runId?: string;
  durationMs?: number;
  error?: string;
  message?: string;
  reason?: string;
}

/** One day of `GET /api/v1/stats/runs-per-day`. */
export interface DailyCounts {
  day: string;
  succeeded: number;
  failed: number;
  partial: number;
  missed: number;
  skipped: number;
}
