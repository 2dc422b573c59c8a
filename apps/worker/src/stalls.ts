import { UnrecoverableError, type Job } from 'bullmq';

/**
 * How many times the workers running a job may stop (killed, or crashed by the job) before the
 * job is given up. BullMQ's own limit (`maxStalledCount`) fails such a job when the next worker
 * fetches it, without calling its processor: nothing records the failure, and the run (or the
 * restore, or the request) that waits for it would stay unfinished for ever. So BullMQ's limit
 * is lifted ({@link BULLMQ_MAX_STALLED_COUNT}) and each processor gives up itself
 * ({@link stalledTooOften}), through the path that records every final failure.
 */
export const MAX_STALLS = 3;

/** `maxStalledCount` of every worker: BullMQ never fails a stalled job by itself. */
export const BULLMQ_MAX_STALLED_COUNT = Number.MAX_SAFE_INTEGER;

/** Why a job that stalled more than {@link MAX_STALLS} times is given up; undefined otherwise. */
export function stalledTooOften(job: Job): Error | undefined {
  const stalls = job.stalledCounter;
  if (stalls <= MAX_STALLS) return undefined;
  return new Error(
    `given up: the worker running this job stopped ${stalls} times (killed, or crashed by it)`,
  );
}

/**
 * `processor`, except that a job that stalled more than {@link MAX_STALLS} times is given up
 * (failed, and logged by the worker) instead of run again. For jobs whose give-up other records
 * cover: a tick that never ran is recorded as missed by the next, and a request's own timeout
 * fails it.
 */
export function givingUpStalled<T extends Job>(
  processor: (job: T, token?: string) => Promise<unknown>,
) {
  return async (job: T, token?: string): Promise<unknown> => {
    const stalled = stalledTooOften(job);
    if (stalled) throw new UnrecoverableError(stalled.message);
    return processor(job, token);
  };
}
