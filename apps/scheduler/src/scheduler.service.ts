import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Logger } from 'pino';
import type { Config } from '#lib/config';
import { PolicyReconciler, type EngineDeps, type PolicySource } from '#lib/engine';
import { CONFIG, ENGINE_DEPS, LOGGER, QueueRegistry, Readiness } from '#lib/runtime';
import { BullMQJobSchedulers } from './bullmq-job-scheduler.adapter.js';
import { POLICY_SOURCE } from './scheduler.constants.js';

/**
 * The scheduler role: loads the policy source (the policy folder in local mode, BackupPolicy
 * custom resources in kubernetes mode), reconciles it into job schedulers on every change and
 * on a periodic resync (the source is the truth; BullMQ's schedulers a cache). Passes are
 * serialised: one reconcile at a time in this process.
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly reconciler: PolicyReconciler;
  private timer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private lastSync?: Date;

  // eslint-disable-next-line max-params -- Nest constructor injection, one parameter per provider
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(ENGINE_DEPS) private readonly deps: EngineDeps,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(QueueRegistry) queues: QueueRegistry,
    @Inject(Readiness) readiness: Readiness,
    @Inject(POLICY_SOURCE) private readonly source: PolicySource,
  ) {
    readiness.register('scheduler', () =>
      this.lastSync ? undefined : 'policies have not been synchronised yet',
    );
    if (source.notReadyReason) {
      readiness.register('policy-source', () => source.notReadyReason?.());
    }
    this.reconciler = new PolicyReconciler(
      deps.policies,
      new BullMQJobSchedulers(queues),
      deps.audit,
      deps.once,
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.resync('start');
    await this.source.watch(() => void this.resync('policy change'));
    this.timer = setInterval(() => void this.resync('periodic'), this.config.resyncIntervalMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.source.close();
    await this.chain;
  }

  /** When the last reconcile pass finished, for readiness. */
  get lastSyncedAt(): Date | undefined {
    return this.lastSync;
  }

  resync(reason: string): Promise<void> {
    this.chain = this.chain.then(() => this.pass(reason));
    return this.chain;
  }

  private async pass(reason: string): Promise<void> {
    try {
      const desired = await this.source.load();
      for (const problem of desired.problems) {
        for (const error of problem.errors) {
          this.logger.error(
            { source: problem.source, field: error.field },
            `invalid policy ${problem.source}: ${error.field}: ${error.message}`,
          );
        }
      }
      const result = await this.reconciler.reconcile(desired, this.deps.clock());
      this.lastSync = this.deps.clock();
      await this.source.reconciled?.(desired, result, this.lastSync);
      this.logger.info(
        { reason, policies: desired.policies.length, ...result },
        'policies reconciled',
      );
    } catch (error) {
      // Don't let one failed pass stop the next ones; the periodic resync retries.
      this.logger.error({ reason, err: (error as Error).message }, 'policy reconcile failed');
    }
  }
}
