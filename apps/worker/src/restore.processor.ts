import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { RestoreService } from '#lib/engine';
import type { RestoreJobData } from '#lib/queues';
import { DriverError } from '#lib/storage';
import { stalledTooOften } from './stalls.js';

/**
 * One RestoreRequest. A busy source volume hands the job back delayed; transient errors retry
 * with backoff; anything else, or the last attempt, fails the restore with the error.
 */
export function restoreProcessor(service: RestoreService) {
  return async (job: Job<RestoreJobData>, token?: string): Promise<unknown> => {
    const jobId = job.id ?? job.name;
    const stalled = stalledTooOften(job);
    if (stalled) {
      await service.fail(job.data, stalled);
      throw new UnrecoverableError(stalled.message);
    }
    try {
      const step = await service.run(job.data, jobId);
      if (step.kind === 'done') return step;
      await job.moveToDelayed(Date.now() + step.delayMs, token);
      throw new DelayedError();
    } catch (error) {
      if (error instanceof DelayedError) throw error;
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const transient = error instanceof DriverError ? error.transient : true;
      if (transient && !lastAttempt) throw error;
      await service.fail(job.data, error);
      throw new UnrecoverableError((error as Error).message);
    }
  };
}
