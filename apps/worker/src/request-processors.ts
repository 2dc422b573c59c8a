import type { Processor } from 'bullmq';
import {
  CleanupService,
  OnDemandSnapshotService,
  createRequestServices,
  type EngineDeps,
} from '#lib/engine';
import { REQUEST_QUEUE, type RequestQueueName } from '#lib/queues';
import type { QueueRegistry } from '#lib/runtime';
import { cleanupProcessor } from './cleanup.processor.js';
import { requestProcessor } from './request.processor.js';
import { restoreProcessor } from './restore.processor.js';
import { givingUpStalled } from './stalls.js';

/**
 * Processors of the request, restore and cleanup queues, over one connection of their own
 * (request store and producer); `close` releases it once the workers have stopped.
 * `failedGraceMs` is how long cleanup keeps a snapshot whose creation failed.
 */
export function createRequestProcessors(
  deps: EngineDeps,
  queues: QueueRegistry,
  prefix: string,
  failedGraceMs?: number,
) {
  const connection = queues.workerConnection('requests');
  const producer = queues.requestQueues(connection);
  const { snapshots: requests, restores } = createRequestServices(deps, connection, prefix);
  const processors: Record<RequestQueueName, Processor> = {
    [REQUEST_QUEUE.requests]: requestProcessor(
      requests,
      new OnDemandSnapshotService(deps, requests),
      producer,
    ) as Processor,
    [REQUEST_QUEUE.restores]: restoreProcessor(restores) as Processor,
    [REQUEST_QUEUE.cleanup]: givingUpStalled(
      cleanupProcessor(new CleanupService(deps, failedGraceMs)),
    ) as Processor,
  };
  return {
    processors,
    producer,
    async close() {
      await producer.close();
      connection.disconnect();
    },
  };
}
