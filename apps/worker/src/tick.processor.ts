import type { Job } from 'bullmq';
import type { TickService } from '#lib/engine';
import type { TickJobData } from '#lib/queues';
import type { QueueRegistry } from '#lib/runtime';

/** A policy tick: fan out to one snapshot job per selected volume, under deterministic ids. */
export function tickProcessor(ticks: TickService, queues: QueueRegistry) {
  return async (job: Job<TickJobData>): Promise<{ jobs: number }> => {
    // A job scheduler stamps each job with the nominal tick time it stands for.
    const nominal = job.opts.prevMillis ?? job.timestamp;
    const jobs = await ticks.handle(job.data, new Date(nominal));
    await queues.addSnapshotJobs(jobs);
    return { jobs: jobs.length };
  };
}
