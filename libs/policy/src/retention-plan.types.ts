import type { Retention } from './policy.schema.js';

/** Lifecycle state of a snapshot, as the planner sees it. */
export type PlanSnapshotState = 'Creating' | 'Ready' | 'Failed' | 'Terminating';

/** `protectedBy` value of snapshots taken for a SnapshotRequest: they occupy reserved slots first. */
export const PROTECTED_BY_ON_DEMAND = 'on-demand';
/** `protectedBy` value of snapshots labelled `snapwarden.io/keep: "true"`. */
export const PROTECTED_BY_KEEP_LABEL = 'keep-label';
/** `protectedBy` value of snapshots a restore is reading from. */
export const PROTECTED_BY_RESTORE = 'restore';

/** One snapshot of the volume being planned. */
export interface PlanSnapshot {
  name: string;
  createdAt: Date;
  state: PlanSnapshotState;
  readyToUse: boolean;
  /** Created by the policy being planned (only these are ever pruned). */
  managed: boolean;
  /** Why the snapshot must never be pruned, e.g. `keep-label`, `restore`, `on-demand`. */
  protectedBy?: string;
}

/** Everything the planner needs; pure data, `now` included. */
export interface RetentionInput {
  /** ALL snapshots of the volume: managed or not, in any state. All of them count toward the cap. */
  snapshots: PlanSnapshot[];
  retention: Retention;
  /** IANA zone of the retention buckets (the policy's `timeZone`). */
  timeZone: string;
  now: Date;
  /** The driver's per-volume snapshot cap (`Infinity` when it has none). */
  cap: number;
  reservedSlots: number;
  /** `scheduled`: stay under `cap − reservedSlots`; `on-demand`: may use the reserved slots. */
  budget: 'scheduled' | 'on-demand';
  /** The snapshot about to be created (for `scheduled`, it takes part in the keep rules). */
  incoming?: { name: string; createdAt: Date };
}

/** A snapshot that stays, and why (`last`, `daily 2026-11-20`, `newest-ready`, `unmanaged`…). */
export interface PlanKeep {
  name: string;
  reasons: string[];
}

/** A snapshot rotation deletes, and why (`retention`, `failed`, `max-age 30d`). */
export interface PlanPrune {
  name: string;
  reason: string;
}

/** What rotation does to one volume. */
export interface RetentionPlan {
  /** Every snapshot that stays (the incoming one first, when it can be created), newest first. */
  keep: PlanKeep[];
  /** Snapshots to delete, oldest first. */
  prune: PlanPrune[];
  /** The first entries of `prune` that must be deleted before `incoming` fits under `limit`. */
  pruneBeforeCreate: string[];
  /** Whether `incoming` may be created now (`true` when there is no incoming snapshot). */
  canCreate: boolean;
  /** Why `incoming` cannot be created, with the counts; set exactly when `canCreate` is false. */
  blockedReason?: string;
  /** The most snapshots the volume may hold for this budget (never more than `cap`). */
  limit: number;
  /** Snapshots on the volume once the plan is applied (including `incoming` if created). */
  countedAfter: number;
}
