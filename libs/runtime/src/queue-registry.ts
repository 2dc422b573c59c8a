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
 * Client settings of the queue and worker connections. Auto-pipelining: the scripts BullMQ
 * runs for concurrent jobs (finish, fetch next, add) leave in one socket write instead of one
 * each, which is most of a busy worker's CPU. Safe with BullMQ: a worker's blocking fetch runs
 * on a connection of its own, where nothing waits behind it.
 */
const BULLMQ_CLIENT = { forBullMQ: true, autoPipelining: true } as const;

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
