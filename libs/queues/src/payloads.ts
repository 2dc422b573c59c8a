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
}

/** What a finished snapshot job returns (kept in BullMQ and shown in run history). */
export interface SnapshotJobResult {
  outcome: 'succeeded' | 'failed' | 'skipped';
  snapshot?: string;
  adopted?: boolean;
  pruned: string[];
  reason?: string;
}
