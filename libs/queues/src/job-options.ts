import type { JobsOptions } from 'bullmq';

/**
 * Defaults for snapshot jobs: transient errors retry with exponential backoff; completed jobs
 * are kept for a day so that a re-added deterministic id is still recognised as done.
 */
export const SNAPSHOT_JOB_OPTIONS: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 50_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
};

export const TICK_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};
