/** Payload of a tick job: which policy fired. The policy itself is read from the policy store. */
export interface TickJobData {
  /** `namespace/name`; also the id of the policy's job scheduler. */
  policyKey: string;
  /** Hash of the policy's spec when the scheduler was upserted; a stale tick is recognised. */
  specHash: string;
}

/** A volume as carried in a job: enough to find it again and to notice it was recreated. */
export interface VolumeKey {
  namespace: string;
  name: string;
  uid: string;
}

/** Payload of one volume's snapshot job. Deterministic: retries and replicas agree on all of it. */
export interface SnapshotJobData {
  runId: string;
  policyKey: string;
  volume: VolumeKey;
  /** The snapshot's deterministic name (invariant 3). */
  snapshotName: string;
  /** Nominal tick time, ISO 8601. */
  scheduledAt: string;
  trigger: string;
  /** The policy's concurrencyPolicy when the volume was admitted: how to release it. */
  concurrencyPolicy: 'Forbid' | 'Replace' | 'Allow';
  /** When the operation first started, set by the first attempt, for the ready timeout. */
  startedAt?: string;
  /**
   * Set on a volume a group job handed on as a job of its own (to wait, or to retry): the
   * volume's result may already be recorded when this job first runs.
   */
  handedOn?: boolean;
}

/** One volume of a snapshot group: its own job id (lock owner, audit) and its payload. */
export interface SnapshotGroupMember {
  id: string;
  data: SnapshotJobData;
}

/**
 * Payload of a snapshot group job: up to `SNAPSHOT_GROUP_SIZE` volumes of one run, worked on
 * one after another by one worker slot. A volume that must wait or retry leaves the group as a
 * snapshot job of its own, under its own id.
 */
export interface SnapshotGroupJobData {
  runId: string;
  members: SnapshotGroupMember[];
}

/** What a finished snapshot group job returns: how each member ended in this delivery. */
export interface SnapshotGroupJobResult {
  /** Member job id → outcome, or `handed-on` when it continues as a job of its own. */
  members: Record<string, SnapshotJobResult['outcome'] | 'handed-on'>;
}

/** What a finished snapshot job returns (kept in BullMQ and shown in run history). */
export interface SnapshotJobResult {
  outcome: 'succeeded' | 'failed' | 'skipped';
  snapshot?: string;
  adopted?: boolean;
  pruned: string[];
  reason?: string;
}
