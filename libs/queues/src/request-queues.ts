import type { JobsOptions } from 'bullmq';

/**
 * Queues of on-demand work: snapshot requests, restores and cleanup passes. Kept apart from
 * {@link QUEUE} so that the scheduled pipeline's registry stays as it is; workers still fail to
 * compile when one of these has no processor (see `createWorkers`).
 */
export const REQUEST_QUEUE = {
  /** A SnapshotRequest's fan-out, one job per volume, and its timeout. */
  requests: 'requests',
  /** One job per RestoreRequest. */
  restores: 'restores',
  /** Repeating cleanup passes: expired, failed and orphaned snapshots. */
  cleanup: 'cleanup',
} as const;

export type RequestQueueName = (typeof REQUEST_QUEUE)[keyof typeof REQUEST_QUEUE];

export const REQUEST_JOB = {
  /** Select the request's volumes and fan out. */
  start: 'start',
  /** One volume of a request. */
  volume: 'volume',
  /** Fails the request if it has not finished by its `timeoutSeconds`. */
  timeout: 'timeout',
  restore: 'restore',
  cleanup: 'cleanup',
} as const;

export type RequestJobName = (typeof REQUEST_JOB)[keyof typeof REQUEST_JOB];

/** Job options of request, restore and cleanup jobs: transient errors retry with backoff. */
export const REQUEST_JOB_OPTIONS: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};

/** Id of the repeating cleanup job scheduler. */
export const CLEANUP_SCHEDULER_ID = 'snapwarden-cleanup';
