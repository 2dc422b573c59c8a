import {
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '#lib/config';
import { createRequestServices, type EngineDeps } from '#lib/engine';
import type { KubeClient } from '#lib/kube';
import type { RequestQueues } from '#lib/queues';
import {
  CONFIG,
  ENGINE_DEPS,
  KUBE_CLIENT,
  LOGGER,
  QueueRegistry,
  REDIS,
  Readiness,
} from '#lib/runtime';
import { RequestCrController } from './request-cr.controller.js';

/**
 * Part of the scheduler role in kubernetes mode: drives SnapshotRequest and RestoreRequest
 * custom resources ({@link RequestCrController}). Does nothing in local mode, where requests
 * arrive through the REST API only.
 */
@Injectable()
export class RequestCrService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private controller?: RequestCrController;
  private producer?: RequestQueues;
  private connection?: Redis;

  // eslint-disable-next-line max-params -- Nest constructor injection, one parameter per provider
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(ENGINE_DEPS) private readonly deps: EngineDeps,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(KUBE_CLIENT) private readonly kube: KubeClient | null,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(QueueRegistry) private readonly queues: QueueRegistry,
    @Inject(Readiness) private readonly readiness: Readiness,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.mode !== 'kubernetes' || !this.kube) return;
    const prefix = this.config.queuePrefix;
    this.connection = this.queues.workerConnection('request-resources');
    this.producer = this.queues.requestQueues(this.connection);
    const controller = new RequestCrController({
      kube: this.kube,
      ...createRequestServices(this.deps, this.redis, prefix),
      producer: this.producer,
      audit: this.deps.audit,
      logger: this.logger,
      namespace: this.config.kube.namespace,
    });
    this.controller = controller;
    this.readiness.register('request-resources', () => controller.notReadyReason());
    // Not awaited: the audit tail waits for Redis and the informers for the API server, and
    // the HTTP listener (liveness) must not; readiness reports the informers until synced.
    controller
      .start()
      .catch((error: unknown) =>
        this.logger.error({ err: String(error) }, 'request resources controller did not start'),
      );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.controller?.close();
    await this.producer?.close();
    this.connection?.disconnect();
  }
}

/** The SnapshotRequest/RestoreRequest controller of the scheduler role. */
@Module({ providers: [RequestCrService] })
export class RequestCrModule {}
