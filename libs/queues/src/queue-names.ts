/**
 * Every queue and job name of snapwarden, defined once. Workers fail at start when a queue has
 * no processor, so a name added here without a handler cannot go unnoticed.
 */
export const QUEUE = {
  /** One job per policy tick, produced by BullMQ job schedulers. */
  ticks: 'ticks',
  /** One job per volume of a run: plan, create, wait until ready, prune. */
  snapshots: 'snapshots',
} as const;

export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export const JOB = {
  tick: 'tick',
  snapshot: 'snapshot',
} as const;

export type JobName = (typeof JOB)[keyof typeof JOB];
