import type { Job } from 'bullmq';
import type { CleanupService } from '#lib/engine';
import type { CleanupJobData } from '#lib/queues';

/** One cleanup pass (repeating, or after a policy was removed). */
export function cleanupProcessor(service: CleanupService) {
  return async (job: Job<CleanupJobData>) => {
    const result = await service.sweep(job.data.trigger);
    return {
      deleted: result.deleted.length,
      failed: result.failed.length,
      deferred: result.deferred.length,
    };
  };
}
