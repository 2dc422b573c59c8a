import type { RepeatOptions } from 'bullmq';
import { nextRuns } from '#lib/policy';

/**
 * BullMQ repeat strategy of the tick queue: the next tick of a policy's job scheduler is
 * `nextRuns` of `#lib/policy`, the same function behind `nextRunTime`, preview and the API, so
 * what fires is what is projected (BullMQ's own cron evaluation gets daylight-saving nights
 * wrong). Strictly after `millis`, or after `startDate` when that is later. Schedulers with
 * `every` instead of `pattern` keep BullMQ's fixed-interval rule. Must be set on the tick
 * `Queue` (first tick, on upsert) and on the tick `Worker` (every later tick).
 */
export function tickRepeatStrategy(millis: number, opts: RepeatOptions): number | undefined {
  if (opts.pattern === undefined) {
    if (!opts.every) return undefined;
    return Math.floor(millis / opts.every) * opts.every + (opts.immediately ? 0 : opts.every);
  }
  const start = opts.startDate === undefined ? millis : new Date(opts.startDate).getTime();
  const after = new Date(Math.max(millis, start - 1));
  return nextRuns(opts.pattern, opts.tz ?? 'UTC', after, 1)[0]?.getTime();
}

/** BullMQ `settings` of the tick queue and its worker. */
export const TICK_QUEUE_SETTINGS = { repeatStrategy: tickRepeatStrategy } as const;
