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
  createdAt: string;
  finishedAt?: string;
  durationMs?: number;
  state: string;
  message?: string;
  volumes: VolumeResult[];
}

/** A policy as `GET /api/v1/policies` returns it. */
export interface Policy {
  key: string;
  nextRunTime?: string;
  spec: { schedule: string; timeZone?: string; suspend?: boolean };
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
