import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  JOB,
  QUEUE,
  RequestQueues,
  SNAPSHOT_JOB_OPTIONS,
  TICK_QUEUE_SETTINGS,
  snapshotGroups,
  type SnapshotGroupJobData,
  type SnapshotGroupMember,
  type QueueName,
  type SnapshotJobData,
  type TickJobData,
} from '#lib/queues';
import { LuaScript } from '#lib/audit';
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
 * Client settings of the queue and worker connections. Like every client of ours they do not
 * auto-pipeline (see `createRedis`); for these it would cost even more: ioredis builds a
 * pipeline object for every auto-pipelined batch and copies onto it every script defined on the
 * connection, some fifty of BullMQ's, and BullMQ's batches are small (a finish here, an add
 * there): `npm run bench`, pipeline scenario, 0.33–0.34 ms of CPU per snapshot in this process
 * without it, 0.41–0.43 with it.
 */
const BULLMQ_CLIENT = { forBullMQ: true } as const;

/**
 * How long the note of a volume's group is kept at most (see {@link QueueRegistry.isLive}); a
 * group's end removes the notes of its members, this only bounds notes nobody removes.
 */
const GROUP_NOTE_TTL_MS = 7 * 24 * 3_600_000;

// Notes each member's group, in one command (a pipeline on this connection would copy BullMQ's
// scripts onto it, see BULLMQ_CLIENT). KEYS: note keys. ARGV: ttl ms, group ids (one per key).
const NOTE_GROUPS = new LuaScript(`
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[1]) end
return #KEYS`);

/**
 * The producer side of every queue, one `Queue` each, sharing one connection. Also tells
 * whether a snapshot job is still live (see `JobLiveness`).
 */
export class QueueRegistry implements JobLiveness {
  private readonly connection: Redis;
  readonly ticks: Queue<TickJobData>;
  readonly snapshots: Queue<SnapshotJobData | SnapshotGroupJobData>;

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
    this.snapshots = new Queue<SnapshotJobData | SnapshotGroupJobData>(QUEUE.snapshots, {
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

  /**
   * Adds a tick's snapshot jobs as group jobs (see `snapshotGroups`) under deterministic ids;
   * an id already present is left alone. Each member held for its `concurrencyPolicy` (not
   * `Allow`) is noted with its group first, so that {@link isLive} finds it while the group
   * waits or runs.
   */
  async addSnapshotJobs(jobs: SnapshotJobRequest[]): Promise<void> {
    if (jobs.length === 0) return;
    const groups = snapshotGroups(jobs);
    const held = groups.flatMap((group) =>
      group.data.members
        .filter(isNoted)
        .map((member) => [this.groupNoteKey(member.id), group.id] as const),
    );
    if (held.length > 0) {
      await NOTE_GROUPS.run(
        this.connection,
        held.map(([key]) => key),
        [String(GROUP_NOTE_TTL_MS), ...held.map(([, group]) => group)],
      );
    }
    const adds = groups.map((group) => ({
      name: JOB.snapshotGroup,
      data: group.data,
      opts: { ...SNAPSHOT_JOB_OPTIONS, jobId: group.id, delay: group.delayMs || undefined },
    }));
    // `addBulk` sends its adds in a pipeline, which ioredis builds by copying every script of
    // the connection (see BULLMQ_CLIENT): for the usual tick of one group, a plain add is cheaper.
    const [only] = adds;
    if (adds.length === 1 && only) await this.snapshots.add(only.name, only.data, only.opts);
    else await this.snapshots.addBulk(adds);
  }

  /**
   * Queues one volume of a group as a snapshot job of its own, under the volume's job id:
   * after `delayMs`, with `attempts` left for transient errors. A job already present under
   * that id (handed on by an earlier delivery of the group) is left alone.
   */
  async handOn(job: SnapshotJobRequest, attempts: number): Promise<void> {
    await this.snapshots.add(
      JOB.snapshot,
      { ...job.data, handedOn: true },
      {
        ...SNAPSHOT_JOB_OPTIONS,
        attempts: Math.max(1, attempts),
        jobId: job.id,
        delay: job.delayMs || undefined,
      },
    );
  }

  /** Removes the group notes of a group's members once the group job has ended. */
  async groupEnded(members: readonly SnapshotGroupMember[]): Promise<void> {
    const noted = members.filter(isNoted);
    if (noted.length === 0) return;
    await this.connection.del(...noted.map((member) => this.groupNoteKey(member.id)));
  }

  /**
   * True while the snapshot job `jobId` has work to do: the volume's own job is waiting,
   * delayed or running, or the group job that carries it is.
   */
  async isLive(jobId: string): Promise<boolean> {
    if (LIVE_STATES.has(await this.snapshots.getJobState(jobId))) return true;
    const group = await this.connection.get(this.groupNoteKey(jobId));
    return group !== null && LIVE_STATES.has(await this.snapshots.getJobState(group));
  }

  private groupNoteKey(jobId: string): string {
    return `${this.prefix}:job-group:${jobId}`;
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

/** A member held for its `concurrencyPolicy` (not `Allow`) has a group note while it waits. */
function isNoted(member: SnapshotGroupMember): boolean {
  return member.data.concurrencyPolicy !== 'Allow';
}
