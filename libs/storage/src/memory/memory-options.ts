import type { SnapshotState } from '../snapshot-driver.js';

export interface MemoryDriverOptions {
  /** Default 7. */
  maxSnapshotsPerVolume?: number;
  /** Latency of create, restore and rollback calls. Default 0 (one event-loop turn). */
  createLatencyMs?: number;
  /** Time from creation to Ready; 0 makes snapshots Ready at once. Default 0. */
  readyDelayMs?: number;
  /** Time a deleted snapshot stays Terminating before it is gone. Default 0. */
  deleteLatencyMs?: number;
  clock?: () => Date;
}

/** A snapshot to seed: one made by another tool, or stuck Terminating, or Failed. */
export interface MemorySnapshotInput {
  namespace?: string;
  name: string;
  volumeName: string;
  /** Default Ready. */
  state?: SnapshotState;
  labels?: Record<string, string>;
  createdAt?: Date;
  restoreSizeBytes?: number;
  error?: string;
  /** Default: the uid of the volume, when it exists. */
  volumeUid?: string;
}

/** Counters of a memory driver (see `MemoryDriver.stats`). */
export interface MemoryDriverStats {
  /** Snapshots created (not adopted). */
  creates: number;
  /** createSnapshot calls that found the snapshot already there. */
  adopts: number;
  /** Snapshots actually removed. */
  deletes: number;
  /** Most create/delete/restore/rollback calls ever in flight at once on one volume. */
  maxConcurrentOpsPerVolume: number;
  /** Such calls in flight right now, over all volumes. */
  currentOps: number;
}
