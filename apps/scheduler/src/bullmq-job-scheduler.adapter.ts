import { JOB, TICK_JOB_OPTIONS, type TickJobData } from '#lib/queues';
import type { JobSchedulerPort, ScheduledEntry } from '#lib/engine';
import type { QueueRegistry } from '#lib/runtime';

/** Policies as BullMQ job schedulers on the tick queue, one per policy, keyed `namespace/name`. */
export class BullMQJobSchedulers implements JobSchedulerPort {
  constructor(private readonly queues: QueueRegistry) {}

  async upsert(key: string, pattern: string, tz: string, specHash: string): Promise<void> {
    const data: TickJobData = { policyKey: key, specHash };
    await this.queues.ticks.upsertJobScheduler(
      key,
      { pattern, tz },
      {
        name: JOB.tick,
        data,
        opts: {
          attempts: TICK_JOB_OPTIONS.attempts,
          backoff: TICK_JOB_OPTIONS.backoff,
          removeOnComplete: TICK_JOB_OPTIONS.removeOnComplete,
          removeOnFail: TICK_JOB_OPTIONS.removeOnFail,
        },
      },
    );
  }

  async remove(key: string): Promise<void> {
    await this.queues.ticks.removeJobScheduler(key);
  }

  /** The ids of the job schedulers in Redis: one read of BullMQ's repeat set, nothing parsed. */
  async present(): Promise<Set<string>> {
    const client = await this.queues.ticks.getBackend().client;
    return new Set(await client.zrange(this.queues.ticks.toKey('repeat'), 0, -1));
  }

  async list(): Promise<ScheduledEntry[]> {
    const schedulers = await this.queues.ticks.getJobSchedulers(0, -1);
    return schedulers.map((s) => ({
      key: s.key,
      pattern: s.pattern ?? undefined,
      tz: s.tz ?? undefined,
      specHash: s.template?.data?.specHash,
    }));
  }
}
