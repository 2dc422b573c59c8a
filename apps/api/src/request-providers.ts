import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Config } from '#lib/config';
import {
  createRequestServices,
  type RestoreService,
  type SnapshotRequestService,
  type EngineDeps,
} from '#lib/engine';
import type { RequestQueues } from '#lib/queues';
import { CONFIG, ENGINE_DEPS, QueueRegistry, REDIS } from '#lib/runtime';

/** The API's side of requests and restores: their services, store and queue producer. */
@Injectable()
export class RequestsGateway implements OnApplicationShutdown {
  readonly producer: RequestQueues;
  readonly snapshots: SnapshotRequestService;
  readonly restores: RestoreService;
  private readonly connection: Redis;

  constructor(
    @Inject(CONFIG) config: Config,
    @Inject(ENGINE_DEPS) deps: EngineDeps,
    @Inject(REDIS) redis: Redis,
    @Inject(QueueRegistry) queues: QueueRegistry,
  ) {
    this.connection = queues.workerConnection('api-requests');
    this.producer = queues.requestQueues(this.connection);
    const services = createRequestServices(deps, redis, config.queuePrefix);
    this.snapshots = services.snapshots;
    this.restores = services.restores;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.close();
    this.connection.disconnect();
  }
}
