import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { SnapshotService } from '#lib/engine';
import type { SnapshotJobData, SnapshotJobResult } from '#lib/queues';
import { DriverError } from '#lib/storage';
import { stalledTooOften } from './stalls.js';

/**
 * One volume of a run. Waiting (volume busy, snapshot not ready yet) hands the job back to the
 * queue as delayed, so no worker slot sits idle; transient errors retry with backoff; anything
 * else, or the last attempt, is recorded as the volume's failure and not retried.
 */
export function snapshotProcessor(service: SnapshotService) {
  return async (job: Job<SnapshotJobData>, token?: string): Promise<SnapshotJobResult> => {
    const jobId = job.id ?? job.name;
    const stalled = stalledTooOften(job);
    if (stalled) {
      await service.fail(job.data, jobId, stalled);
      throw new UnrecoverableError(stalled.message);
    }
    try {
      const step = await service.run(job.data, jobId, {
        redelivered: job.attemptsStarted > 1,
        attempt: token,
      });
      if (step.kind === 'done') return step.result;
      await job.updateData(step.data);
      await job.moveToDelayed(Date.now() + step.delayMs, token);
      throw new DelayedError();
    } catch (error) {
      if (error instanceof DelayedError) throw error;
      const attempts = job.opts.attempts ?? 1;
      const lastAttempt = job.attemptsMade + 1 >= attempts;
      if (isTransient(error) && !lastAttempt) {
        await service.retrying(job.data, jobId, error, job.attemptsMade + 1);
        throw error;
      }
      await service.fail(job.data, jobId, error);
      throw new UnrecoverableError((error as Error).message);
    }
  };
}

/** Driver errors say whether a retry can help; anything unknown (network, Redis) is retried. */
function isTransient(error: unknown): boolean {
  return error instanceof DriverError ? error.transient : true;
}
