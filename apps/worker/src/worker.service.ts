import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '#lib/config';
import type { EngineDeps } from '#lib/engine';
import { CONFIG, ENGINE_DEPS, LOGGER, QueueRegistry, Readiness } from '#lib/runtime';
import { createWorkers } from './create-workers.js';

/**
 * The worker role. On shutdown workers stop taking jobs and wait for the active ones; a job
 * cut off by a kill is retried by another worker once its lock expires (invariant 5).
 */
@Injectable()
export class WorkerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private workers: Worker[] = [];

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(ENGINE_DEPS) private readonly deps: EngineDeps,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(QueueRegistry) private readonly queues: QueueRegistry,
    @Inject(Readiness) readiness: Readiness,
  ) {
    readiness.register('worker', () => (this.running ? undefined : 'workers are not running'));
  }

  onApplicationBootstrap(): void {
    this.workers = createWorkers(
      this.deps,
      this.queues,
      {
        prefix: this.config.queuePrefix,
        concurrency: this.config.workerConcurrency,
        lockDurationMs: this.config.jobLockMs,
        cleanupEveryMs: this.config.cleanupIntervalMs,
        failedSnapshotGraceMs: this.config.failedSnapshotGraceMs,
      },
      this.logger,
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }

  /** True when every worker is running. */
  get running(): boolean {
    return this.workers.length > 0 && this.workers.every((w) => w.isRunning());
  }
}
