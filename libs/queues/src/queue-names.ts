/**
 * Every queue and job name of snapwarden, defined once. Workers fail at start when a queue has
 * no processor, so a name added here without a handler cannot go unnoticed.
 */
export const QUEUE = {
  /** One job per policy tick, produced by BullMQ job schedulers. */
  ticks: 'ticks',
  /** Snapshot jobs: a group of a run's volumes, or one volume (plan, create, wait, prune). */
  snapshots: 'snapshots',
} as const;

export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export const JOB = {
  tick: 'tick',
  /** One volume: a volume handed on by its group, or a job queued by an earlier version. */
  snapshot: 'snapshot',
  /** Up to `SNAPSHOT_GROUP_SIZE` volumes of one run (see `SnapshotGroupJobData`). */
  snapshotGroup: 'snapshot-group',
} as const;

export type JobName = (typeof JOB)[keyof typeof JOB];
