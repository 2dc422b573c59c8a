import type { AuditLog, RunStore } from '#lib/audit';
import type { SnapshotDriver, VolumeRef } from '#lib/storage';
import type { ActiveRuns } from './active-runs.js';
import type { DeletionIntents } from './deletion-intents.js';
import type { HookRunner } from './hooks/hook-runner.js';
import type { WorkloadPort } from './quiesce/workload-port.js';
import type { PolicyStore } from './policy-store.js';
import type { RunObserver } from './run-observer.js';
import type { LockedRead, VolumeLocks } from './volume-lock.js';

/** Timing knobs of the engine; all in milliseconds. */
export interface EngineTimings {
  /** Lease of a volume lock; renewed while held, expires after a worker dies. */
  lockTtlMs: number;
  /** How long one attempt waits for readiness before handing the job back for a re-check. */
  readyWaitMs: number;
  /** Delay before a re-check of a snapshot that is not ready yet. */
  readyRecheckMs: number;
  /** A snapshot not ready this long after its creation started fails the volume's run. */
  readyTimeoutMs: number;
  /** Delay before a job retries a volume whose lock another operation holds. */
  busyRetryMs: number;
}

export const DEFAULT_TIMINGS: EngineTimings = {
  lockTtlMs: 60_000,
  readyWaitMs: 15_000,
  readyRecheckMs: 5_000,
  readyTimeoutMs: 600_000,
  busyRetryMs: 250,
};

/** Where the engine reports what an operator must see besides the audit log (pino fits). */
export interface EngineLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Everything the engine's services talk to: ports, not implementations. */
export interface EngineDeps {
  driver: SnapshotDriver;
  policies: PolicyStore;
  audit: AuditLog;
  runs: RunStore;
  locks: VolumeLocks;
  /** Deletions issued and not yet reported, so that a killed worker's are reported by the next. */
  deletions: DeletionIntents;
  activeRuns: ActiveRuns;
  timings: EngineTimings;
  clock: () => Date;
  /** Who does the work, recorded in audit events: `hostname/pid`. */
  identity: string;
  /** True exactly once per key across every replica (e.g. announcing a run's end). */
  once: (key: string) => Promise<boolean>;
  /** Snapshots that rotation must not touch beyond labels, e.g. those a restore is reading. */
  protection?: SnapshotProtection;
  /** Told about every run's end (finished or missed); absent in local mode. */
  runObserver?: RunObserver;
  /** Warnings such as a claim a policy names that does not exist. */
  log?: EngineLog;
  /** Runs `spec.hooks` around snapshots; without it, hooks in a spec are refused at run time. */
  hooks?: HookRunner;
  /** Pods and workloads around claims, for a rollback's quiesce (kubernetes mode). */
  workloads?: WorkloadPort;
}

/** Source of snapshots protected from rotation and expiry while something uses them. */
export interface SnapshotProtection {
  protectedSnapshots(volume: VolumeRef): Promise<ReadonlySet<string>>;
  /** The same, as a read the volume lock's script can make when it is taken, if it can be. */
  lockedRead?(volume: VolumeRef): LockedRead<ReadonlySet<string>>;
}
