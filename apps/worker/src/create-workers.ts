import { Worker, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import { SnapshotService, TickService, type EngineDeps } from '#lib/engine';
import { QUEUE, type QueueName } from '#lib/queues';
import type { QueueRegistry } from '#lib/runtime';
import { snapshotProcessor } from './snapshot.processor.js';
import { tickProcessor } from './tick.processor.js';

/** Settings of the BullMQ workers of one process. */
export interface WorkerOptions {
  prefix: string;
  concurrency: number;
  /** BullMQ job lock; a dead worker's job is retried elsewhere after it expires. */
  lockDurationMs: number;
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
  const processors: Record<QueueName, Processor> = {
    [QUEUE.ticks]: tickProcessor(new TickService(deps), queues) as Processor,
    [QUEUE.snapshots]: snapshotProcessor(new SnapshotService(deps)) as Processor,
  };
  return Object.entries(processors).map(([name, processor]) => {
    const connection = queues.workerConnection(`worker-${name}`);
    const worker = new Worker(name, processor, {
      connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.lockDurationMs,
      maxStalledCount: 3,
    });
    // BullMQ leaves a connection it was given open; this one is the worker's alone.
    worker.on('closed', () => connection.disconnect());
    worker.on('error', (error) => logger.warn({ queue: name, err: error.message }, 'worker error'));
    worker.on('failed', (job, error) =>
      logger.warn({ queue: name, jobId: job?.id, err: error.message }, 'job failed'),
    );
    return worker;
  });
}
