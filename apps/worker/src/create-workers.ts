import { Worker, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import { SnapshotService, TickService, type EngineDeps } from '#lib/engine';
import { QUEUE, TICK_QUEUE_SETTINGS, type QueueName, type RequestQueueName } from '#lib/queues';
import type { QueueRegistry } from '#lib/runtime';
import { snapshotProcessor } from './snapshot.processor.js';
import { BULLMQ_MAX_STALLED_COUNT, givingUpStalled } from './stalls.js';
import { tickProcessor } from './tick.processor.js';
import { createRequestProcessors } from './request-processors.js';

/**
 * Tick jobs in flight per process, per unit of `concurrency`. A tick reads the driver's volume
 * index and writes to Redis; it never makes or deletes a snapshot, the provider's load that the
 * snapshot queue's concurrency bounds. Most of a tick is round trips, so a few in flight leave
 * the process idle while a fleet's ticks wait: with one slot per unit, a fleet tick of 1,000
 * policies spent its first second starting runs on two worker processes that were half idle.
 */
export const TICK_CONCURRENCY_FACTOR = 4;

/** Settings of the BullMQ workers of one process. */
export interface WorkerOptions {
  prefix: string;
  concurrency: number;
  /** BullMQ job lock; a dead worker's job is retried elsewhere after it expires. */
  lockDurationMs: number;
  /** Upsert the repeating cleanup pass at this interval (the worker role does; tests need not). */
  cleanupEveryMs?: number;
  /** How long cleanup keeps a snapshot whose creation failed (the engine's default if unset). */
  failedSnapshotGraceMs?: number;
}

/**
 * One BullMQ worker per queue, each with its processor. The record type makes a queue
 * without a processor a compile error.
 */
export function createWorkers(
  deps: EngineDeps,
  queues: QueueRegistry,
  options: WorkerOptions,
  logger: Logger,
): Worker[] {
  const requests = createRequestProcessors(
    deps,
    queues,
    options.prefix,
    options.failedSnapshotGraceMs,
  );
  const processors: Record<QueueName | RequestQueueName, Processor> = {
    [QUEUE.ticks]: givingUpStalled(tickProcessor(new TickService(deps), queues)) as Processor,
    [QUEUE.snapshots]: snapshotProcessor(new SnapshotService(deps), queues, {
      volumes: options.concurrency,
    }) as Processor,
    ...requests.processors,
  };
  if (options.cleanupEveryMs) {
    requests.producer
      .scheduleCleanup(options.cleanupEveryMs)
      .catch((error: Error) => logger.warn({ err: error.message }, 'cannot schedule cleanup'));
  }
  let open = Object.keys(processors).length;
  const workers = Object.entries(processors).map(([name, processor]) => {
    const connection = queues.workerConnection(`worker-${name}`);
    const worker = new Worker(name, processor, {
      connection,
      prefix: options.prefix,
      concurrency:
        name === QUEUE.ticks ? options.concurrency * TICK_CONCURRENCY_FACTOR : options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.lockDurationMs,
      maxStalledCount: BULLMQ_MAX_STALLED_COUNT,
      // An idle worker polls its empty queue this often (s): a new job wakes it at once anyway,
      // and 10 s is the longest block BullMQ deems safe across reconnections.
      drainDelay: 10,
      ...(name === QUEUE.ticks ? { settings: TICK_QUEUE_SETTINGS } : {}),
    });
    // BullMQ leaves a connection it was given open; this one is the worker's alone.
    worker.on('closed', () => {
      connection.disconnect();
      if (--open === 0) void requests.close().catch(() => undefined);
    });
    worker.on('error', (error) => logger.warn({ queue: name, err: error.message }, 'worker error'));
    worker.on('failed', (job, error) =>
      logger.warn({ queue: name, jobId: job?.id, err: error.message }, 'job failed'),
    );
    return worker;
  });
  return workers;
}
