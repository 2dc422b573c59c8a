import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import pLimit, { type LimitFunction } from 'p-limit';
import type { SnapshotJobRequest, SnapshotService } from '#lib/engine';
import {
  JOB,
  SNAPSHOT_JOB_OPTIONS,
  type SnapshotGroupJobData,
  type SnapshotGroupJobResult,
  type SnapshotGroupMember,
  type SnapshotJobData,
  type SnapshotJobResult,
} from '#lib/queues';
import { DriverError } from '#lib/storage';
import { stalledTooOften } from './stalls.js';

/** Where a group job sends the volumes that leave it (see `QueueRegistry`). */
export interface SnapshotHandOn {
  /** Queues the volume as a job of its own, after `delayMs`, with `attempts` left. */
  handOn(job: SnapshotJobRequest, attempts: number): Promise<void>;
  /** The group job of these members has ended. */
  groupEnded(members: readonly SnapshotGroupMember[]): Promise<void>;
}

/** How a member of a group ended in one delivery of the group. */
type MemberOutcome = SnapshotGroupJobResult['members'][string];

/** Attempts a volume has for transient errors, and the wait before its first retry. */
const ATTEMPTS = SNAPSHOT_JOB_OPTIONS.attempts ?? 1;
const FIRST_BACKOFF_MS =
  typeof SNAPSHOT_JOB_OPTIONS.backoff === 'object' ? (SNAPSHOT_JOB_OPTIONS.backoff.delay ?? 0) : 0;

/**
 * The snapshot queue's processor: group jobs (what ticks add) and single-volume jobs. At most
 * `volumes` volumes are worked on at once by it (the worker's concurrency): a group's volumes
 * run side by side while slots are free, as their own jobs would, and share the slots with
 * every other group and single job of this worker.
 */
export function snapshotProcessor(
  service: SnapshotService,
  queue: SnapshotHandOn,
  options: { volumes: number },
) {
  const slots = pLimit(options.volumes);
  const volume = volumeProcessor(service);
  const group = groupProcessor(service, queue, slots);
  return (
    job: Job<SnapshotJobData | SnapshotGroupJobData>,
    token?: string,
  ): Promise<SnapshotJobResult | SnapshotGroupJobResult> =>
    job.name === JOB.snapshotGroup
      ? group(job as Job<SnapshotGroupJobData>, token)
      : slots(() => volume(job as Job<SnapshotJobData>, token));
}

/**
 * One volume of a run. Waiting (volume busy, snapshot not ready yet) hands the job back to the
 * queue as delayed, so no worker slot sits idle; transient errors retry with backoff; anything
 * else, or the last attempt, is recorded as the volume's failure and not retried.
 */
function volumeProcessor(service: SnapshotService) {
  return async (job: Job<SnapshotJobData>, token?: string): Promise<SnapshotJobResult> => {
    const jobId = job.id ?? job.name;
    const stalled = stalledTooOften(job);
    if (stalled) {
      await service.fail(job.data, jobId, stalled);
      throw new UnrecoverableError(stalled.message);
    }
    try {
      const step = await service.run(job.data, jobId, {
        // A volume handed on by its group may have been finished by a later delivery of it.
        redelivered: job.attemptsStarted > 1 || job.data.handedOn === true,
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

/**
 * Up to `SNAPSHOT_GROUP_SIZE` volumes of one run, each exactly as its own job would be (its own
 * job id owns its lock and names it in the audit log), in `slots`. A volume that must wait
 * (busy, not ready) or retry leaves the group as a job of its own under its own id, so the
 * group never holds a slot idle and never retries volumes that ended. When the group itself
 * fails (Redis, the queue), it fails once every member has stopped, and its retry skips the
 * volumes already recorded; its last attempt records every unfinished volume as failed, so no
 * volume is left without a result. A group whose worker stopped goes on as one job per volume
 * ({@link splitAfterStall}).
 */
function groupProcessor(service: SnapshotService, queue: SnapshotHandOn, slots: LimitFunction) {
  return async (
    job: Job<SnapshotGroupJobData>,
    token?: string,
  ): Promise<SnapshotGroupJobResult> => {
    const { members } = job.data;
    const stalled = stalledTooOften(job);
    if (stalled) await giveUp(service, queue, members, stalled);
    if (job.stalledCounter > 0) return splitAfterStall(service, queue, members);
    const delivery = { redelivered: job.attemptsStarted > 1, attempt: token };
    const settled = await Promise.allSettled(
      members.map((member) => slots(() => runMember(service, queue, member, delivery))),
    );
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (lastAttempt || !isTransient(failed.reason)) {
        await giveUp(service, queue, members, failed.reason);
      }
      throw failed.reason;
    }
    const outcomes: Record<string, MemberOutcome> = {};
    settled.forEach((result, i) => {
      const id = members[i]?.id;
      if (id !== undefined && result.status === 'fulfilled') outcomes[id] = result.value;
    });
    await queue.groupEnded(members);
    return { members: outcomes };
  };
}

/**
 * A group whose worker stopped while running it (killed, or crashed by it) hands every member
 * without a final result on as a job of its own, with the attempts of a new job. Each volume
 * then has its own count of stopped workers: before, the group kept one count for its up to ten
 * volumes, so stops that hit different volumes added up, and the fourth gave up every volume of
 * the group, the ones never tried included. A member the stopped worker was building is taken
 * over by its own job once the volume's lease runs out, as a redelivered job would.
 */
async function splitAfterStall(
  service: SnapshotService,
  queue: SnapshotHandOn,
  members: readonly SnapshotGroupMember[],
): Promise<SnapshotGroupJobResult> {
  const outcomes: Record<string, MemberOutcome> = {};
  for (const member of members) {
    const recorded = await service.outcome(member.data);
    if (recorded === undefined) await queue.handOn({ ...member, delayMs: 0 }, ATTEMPTS);
    outcomes[member.id] = recorded ?? 'handed-on';
  }
  await queue.groupEnded(members);
  return { members: outcomes };
}

/** One member of a group, in the group's delivery. */
async function runMember(
  service: SnapshotService,
  queue: SnapshotHandOn,
  { id, data }: SnapshotGroupMember,
  delivery: { redelivered: boolean; attempt?: string },
): Promise<MemberOutcome> {
  let step;
  try {
    step = await service.run(data, id, delivery);
  } catch (error) {
    if (!isTransient(error) || ATTEMPTS <= 1) {
      await service.fail(data, id, error);
      return 'failed';
    }
    await service.retrying(data, id, error, 1);
    await queue.handOn({ id, data, delayMs: FIRST_BACKOFF_MS }, ATTEMPTS - 1);
    return 'handed-on';
  }
  if (step.kind === 'done') return step.result.outcome;
  await queue.handOn({ id, data: step.data, delayMs: step.delayMs }, ATTEMPTS);
  return 'handed-on';
}

/** Records every member without a final result as failed, then fails the group for good. */
async function giveUp(
  service: SnapshotService,
  queue: SnapshotHandOn,
  members: readonly SnapshotGroupMember[],
  error: unknown,
): Promise<never> {
  for (const { id, data } of members) {
    if (!(await service.finished(data))) await service.fail(data, id, error);
  }
  await queue.groupEnded(members).catch(() => undefined);
  throw new UnrecoverableError((error as Error).message);
}

/** Driver errors say whether a retry can help; anything unknown (network, Redis) is retried. */
function isTransient(error: unknown): boolean {
  return error instanceof DriverError ? error.transient : true;
}
