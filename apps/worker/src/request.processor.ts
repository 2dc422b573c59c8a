import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { OnDemandSnapshotService, SnapshotRequestService } from '#lib/engine';
import {
  REQUEST_JOB,
  type RequestJobData,
  type RequestQueues,
  type RequestVolumeJobData,
} from '#lib/queues';
import { DriverError } from '#lib/storage';
import { stalledTooOften } from './stalls.js';

type RequestJob = Job<RequestJobData> | Job<RequestVolumeJobData>;

/**
 * The `requests` queue: `start` fans a SnapshotRequest out into one `volume` job per claim,
 * `volume` takes one claim's snapshot (handed back delayed while the volume is busy or the
 * snapshot not ready), `timeout` fails a request that has not finished in time.
 */
export function requestProcessor(
  requests: SnapshotRequestService,
  volumes: OnDemandSnapshotService,
  queues: RequestQueues,
) {
  return async (job: RequestJob, token?: string): Promise<unknown> => {
    const stalled = job.name === REQUEST_JOB.volume ? undefined : stalledTooOften(job);
    // A volume job records its give-up (volumeStep); a request's start or timeout job that keeps
    // stopping its worker is given up, and the request's own timeout fails the request.
    if (stalled) throw new UnrecoverableError(stalled.message);
    switch (job.name) {
      case REQUEST_JOB.start: {
        const jobs = await requests.start(job.data.requestKey);
        await queues.addVolumeJobs(jobs);
        return { jobs: jobs.length };
      }
      case REQUEST_JOB.timeout:
        await requests.timeout(job.data.requestKey);
        return {};
      default:
        return volumeStep(volumes, job as Job<RequestVolumeJobData>, token);
    }
  };
}

async function volumeStep(
  service: OnDemandSnapshotService,
  job: Job<RequestVolumeJobData>,
  token?: string,
) {
  const jobId = job.id ?? job.name;
  const stalled = stalledTooOften(job);
  if (stalled) {
    await service.fail(job.data, jobId, stalled);
    throw new UnrecoverableError(stalled.message);
  }
  try {
    const step = await service.run(job.data, jobId, token);
    if (step.kind === 'done') return step;
    await job.updateData(step.data);
    await job.moveToDelayed(Date.now() + step.delayMs, token);
    throw new DelayedError();
  } catch (error) {
    if (error instanceof DelayedError) throw error;
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const transient = error instanceof DriverError ? error.transient : true;
    if (transient && !lastAttempt) throw error;
    await service.fail(job.data, jobId, error);
    throw new UnrecoverableError((error as Error).message);
  }
}
