import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  CLEANUP_SCHEDULER_ID,
  REQUEST_JOB,
  REQUEST_JOB_OPTIONS,
  REQUEST_QUEUE,
  type RequestQueueName,
} from './request-queues.js';
import {
  requestJobId,
  type CleanupJobData,
  type RequestJobData,
  type RequestVolumeJobData,
  type RestoreJobData,
} from './request-payloads.js';

/** A volume job a request's fan-out asks the queue to add. */
export interface RequestVolumeJob {
  id: string;
  data: RequestVolumeJobData;
}

/**
 * The producer side of the request, restore and cleanup queues, over one BullMQ connection
 * (`maxRetriesPerRequest: null`). Every add uses a deterministic job id, so a retried or
 * duplicated add is ignored by BullMQ.
 */
export class RequestQueues {
  readonly requests: Queue;
  readonly restores: Queue;
  readonly cleanup: Queue;

  /** `onError` hears each queue's errors (BullMQ otherwise prints them to stderr). */
  constructor(
    connection: Redis,
    prefix: string,
    onError?: (queue: RequestQueueName, error: Error) => void,
  ) {
    this.requests = new Queue(REQUEST_QUEUE.requests, { connection, prefix });
    this.restores = new Queue(REQUEST_QUEUE.restores, { connection, prefix });
    this.cleanup = new Queue(REQUEST_QUEUE.cleanup, { connection, prefix });
    if (onError) {
      for (const queue of this.all()) {
        queue.on('error', (error) => onError(queue.name as RequestQueueName, error));
      }
    }
  }

  all(): Queue[] {
    return [this.requests, this.restores, this.cleanup];
  }

  byName(name: RequestQueueName): Queue {
    switch (name) {
      case REQUEST_QUEUE.requests:
        return this.requests;
      case REQUEST_QUEUE.restores:
        return this.restores;
      case REQUEST_QUEUE.cleanup:
        return this.cleanup;
    }
  }

  /** Starts a SnapshotRequest and arms its timeout. */
  async submitRequest(requestKey: string, timeoutMs: number): Promise<void> {
    const data: RequestJobData = { requestKey };
    await this.requests.addBulk([
      {
        name: REQUEST_JOB.start,
        data,
        opts: { ...REQUEST_JOB_OPTIONS, jobId: requestJobId('req', requestKey) },
      },
      {
        name: REQUEST_JOB.timeout,
        data,
        opts: {
          ...REQUEST_JOB_OPTIONS,
          jobId: requestJobId('reqtimeout', requestKey),
          delay: timeoutMs,
        },
      },
    ]);
  }

  /** Adds one job per volume of a request. */
  async addVolumeJobs(jobs: RequestVolumeJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.requests.addBulk(
      jobs.map((job) => ({
        name: REQUEST_JOB.volume,
        data: job.data,
        opts: { ...REQUEST_JOB_OPTIONS, jobId: job.id },
      })),
    );
  }

  /**
   * Whether a SnapshotRequest's start job is in its queue (waiting, running or done). After an
   * enqueue that failed on its reply (the write may have reached Redis), this tells whether the
   * request was queued after all.
   */
  async requestQueued(requestKey: string): Promise<boolean> {
    return (await this.requests.getJob(requestJobId('req', requestKey))) !== undefined;
  }

  /** Whether a RestoreRequest's job is in its queue; see {@link requestQueued}. */
  async restoreQueued(restoreKey: string): Promise<boolean> {
    return (await this.restores.getJob(requestJobId('restore', restoreKey))) !== undefined;
  }

  /** Starts a RestoreRequest. */
  async submitRestore(restoreKey: string): Promise<void> {
    const data: RestoreJobData = { restoreKey };
    await this.restores.add(REQUEST_JOB.restore, data, {
      ...REQUEST_JOB_OPTIONS,
      jobId: requestJobId('restore', restoreKey),
    });
  }

  /** Upserts the repeating cleanup pass (idempotent: one scheduler id across replicas). */
  async scheduleCleanup(everyMs: number): Promise<void> {
    const data: CleanupJobData = { trigger: 'schedule' };
    await this.cleanup.upsertJobScheduler(
      CLEANUP_SCHEDULER_ID,
      { every: everyMs },
      { name: REQUEST_JOB.cleanup, data, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }

  /** Adds one cleanup pass now, e.g. after a policy was removed. */
  async cleanupNow(trigger: string, id: string): Promise<void> {
    const data: CleanupJobData = { trigger };
    await this.cleanup.add(REQUEST_JOB.cleanup, data, {
      ...REQUEST_JOB_OPTIONS,
      jobId: requestJobId('cleanup', id),
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close()));
  }
}
