import type { Hooks } from '#lib/policy';
import type { VolumeKey } from './payloads.js';

/** Payload of a `start` or `timeout` job: which request (`namespace/name`). */
export interface RequestJobData {
  requestKey: string;
}

/** Payload of one volume of a SnapshotRequest. Deterministic: retries agree on all of it. */
export interface RequestVolumeJobData {
  requestKey: string;
  runId: string;
  volume: VolumeKey;
  snapshotName: string;
  labels: Record<string, string>;
  snapshotClassName?: string;
  trigger: string;
  /** The request's `spec.hooks` (else its policy's), fixed when the request started. */
  hooks?: Hooks;
  /** When the operation first started, set by the first attempt, for the ready timeout. */
  startedAt?: string;
}

/** Payload of a restore job. */
export interface RestoreJobData {
  restoreKey: string;
  /** When the operation first started, set by the first attempt. */
  startedAt?: string;
}

/** Payload of a cleanup pass. */
export interface CleanupJobData {
  /** Who asked: `schedule` for the repeating pass, `policy.removed` for a deleted policy. */
  trigger: string;
}

/** Ids of request jobs; BullMQ ids must not contain ':'. */
export function requestJobId(kind: string, key: string, suffix = ''): string {
  return `${kind}_${key.replace(/[^a-zA-Z0-9.-]/g, '.')}${suffix ? `_${suffix.replace(/[^a-zA-Z0-9.-]/g, '.')}` : ''}`;
}
