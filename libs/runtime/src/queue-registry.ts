import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  JOB,
  QUEUE,
  RequestQueues,
  SNAPSHOT_JOB_OPTIONS,
  TICK_QUEUE_SETTINGS,
  type QueueName,
  type SnapshotJobData,
  type TickJobData,
} from '#lib/queues';
import type { JobLiveness, SnapshotJobRequest } from '#lib/engine';
import { createRedis } from './redis-connection.js';

/** Job states in which a job still has work to do. */
const LIVE_STATES: ReadonlySet<string> = new Set([
  'active',
  'waiting',
  'delayed',
  'prioritized',
  'waiting-children',
]);

/**
 * Client settings of the queue and worker connections: no auto-pipelining. ioredis builds a
 * pipeline object for every auto-pipelined batch and copies onto it every script defined on the
 * connection, some fifty of BullMQ's; BullMQ's batches are small (a finish here, an add there),
 * so that copy cost more than the socket writes it saved (`npm run bench`, pipeline scenario:
 * 0.33–0.34 ms of CPU per snapshot in this process without it, 0.41–0.43 with it). Our own
 * connection, which defines no scripts, keeps it (see `createRedis`).
 */
const BULLMQ_CLIENT = { forBullMQ: true, autoPipelining: false } as const;

/**
 * The producer side of every queue, one `Queue` each, sharing one connection. Also tells
 * whether a snapshot job is still live (see `JobLiveness`).
 */
export class QueueRegistry implements JobLiveness {
  private readonly connection: Redis;
  readonly ticks: Queue<TickJobData>;
  readonly snapshots: Queue<SnapshotJobData>;

  constructor(
    readonly redisUrl: string,
    readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.connection = createRedis(redisUrl, logger, { ...BULLMQ_CLIENT, name: 'queues' });
    this.ticks = new Queue<TickJobData>(QUEUE.ticks, {
      connection: this.connection,
      prefix,
      settings: TICK_QUEUE_SETTINGS,
    });
    this.snapshots = new Queue<SnapshotJobData>(QUEUE.snapshots, {
      connection: this.connection,
      prefix,
    });
    for (const queue of this.all()) {
      queue.on('error', (error) =>
        logger.warn({ queue: queue.name, err: error.message }, 'queue error'),
      );
    }
  }

  all(): Queue[] {
    return [this.ticks, this.snapshots] as Queue[];
  }

  byName(name: QueueName): Queue {
    switch (name) {
      case QUEUE.ticks:
        return this.ticks as Queue;
      case QUEUE.snapshots:
        return this.snapshots as Queue;
    }
  }

  /** Adds snapshot jobs under their deterministic ids; an id already present is left alone. */
  async addSnapshotJobs(jobs: SnapshotJobRequest[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.snapshots.addBulk(
      jobs.map((job) => ({
        name: JOB.snapshot,
        data: job.data,
        opts: { ...SNAPSHOT_JOB_OPTIONS, jobId: job.id, delay: job.delayMs || undefined },
      })),
    );
  }

  /** True while the snapshot job `jobId` is waiting, delayed or running. */
  async isLive(jobId: string): Promise<boolean> {
    return LIVE_STATES.has(await this.snapshots.getJobState(jobId));
  }

  /** The request, restore and cleanup queues over `connection`, their errors logged. */
  requestQueues(connection: Redis): RequestQueues {
    return new RequestQueues(connection, this.prefix, (queue, error) =>
      this.logger.warn({ queue, err: error.message }, 'queue error'),
    );
  }

  /** A new connection for a worker (BullMQ workers block on their own connection). */
  workerConnection(name: string): Redis {
    return createRedis(this.redisUrl, this.logger, { ...BULLMQ_CLIENT, name });
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close()));
    this.connection.disconnect();
  }
}
