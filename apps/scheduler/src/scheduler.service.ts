import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '#lib/config';
import {
  PolicyReconciler,
  type DesiredPolicies,
  type EngineDeps,
  type PolicySource,
  type ReconcileResult,
} from '#lib/engine';
import { boundText, formatFieldErrors } from '#lib/policy';
import { RequestQueues } from '#lib/queues';
import {
  compactHeap,
  CONFIG,
  ENGINE_DEPS,
  LOGGER,
  QueueRegistry,
  Readiness,
  STATUS_CATCH_UP,
  type StatusCatchUp,
} from '#lib/runtime';
import { BullMQJobSchedulers } from './bullmq-job-scheduler.adapter.js';
import { POLICY_SOURCE } from './scheduler.constants.js';

/** Keys listed per kind in the log line of a pass; a first pass over 10,000 says how many. */
const LOGGED_KEYS = 20;

/** The result of a pass for its log line: the first keys of each kind, and how many there were. */
function boundedResult(result: ReconcileResult): Record<string, string[] | number> {
  const fields: Record<string, string[] | number> = {};
  for (const [kind, keys] of Object.entries(result) as [keyof ReconcileResult, string[]][]) {
    fields[kind] = keys.slice(0, LOGGED_KEYS);
    if (keys.length > LOGGED_KEYS) fields[`${kind}Count`] = keys.length;
  }
  return fields;
}

/** A count as people read it: 10,000. */
function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Backoff of a failed reconcile pass (Redis unreachable): 250 ms doubling up to 4 s. */
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 4_000;

/**
 * The scheduler role: loads the policy source (the policy folder in local mode, BackupPolicy
 * custom resources in kubernetes mode), reconciles it into job schedulers on every change and
 * on a periodic resync (the source is the truth; BullMQ's schedulers a cache). Passes are
 * serialised: one reconcile at a time in this process. A removed policy gets a cleanup pass at
 * once (its `deletionPolicy`), under a job id of that removal, so replicas do not double it.
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly reconciler: PolicyReconciler;
  private readonly connection: Redis;
  private readonly cleanup: RequestQueues;
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private startTimer?: NodeJS.Timeout;
  private failures = 0;
  private closed = false;
  private chain: Promise<void> = Promise.resolve();
  private lastSync?: Date;
  /** The status catch-up under way, if any (see {@link catchUpStatus}). */
  private catchingUp?: Promise<void>;
  /** How far the pass under way has come, for readiness until the first pass has finished. */
  private progress = 'policies: loading the policy source';
  /** What was last logged per problem source, so that a problem is logged once per change. */
  private readonly logged = new Map<string, string>();

  // eslint-disable-next-line max-params -- Nest constructor injection, one parameter per provider
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(ENGINE_DEPS) private readonly deps: EngineDeps,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(QueueRegistry) queues: QueueRegistry,
    @Inject(Readiness) readiness: Readiness,
    @Inject(POLICY_SOURCE) private readonly source: PolicySource,
    @Inject(STATUS_CATCH_UP) private readonly statusCatchUp: StatusCatchUp | null,
  ) {
    readiness.register('scheduler', () => (this.lastSync ? undefined : this.progress));
    if (source.notReadyReason) {
      readiness.register('policy-source', () => source.notReadyReason?.());
    }
    this.reconciler = new PolicyReconciler(
      deps.policies,
      new BullMQJobSchedulers(queues),
      deps.audit,
      deps.once,
    );
    this.connection = queues.workerConnection('scheduler-cleanup');
    this.cleanup = new RequestQueues(this.connection, config.queuePrefix, (queue, error) =>
      logger.warn({ queue, err: error.message }, 'queue error'),
    );
  }

  /**
   * Starts the first pass without waiting for it: with Redis down it would hold up the HTTP
   * listener (and `/healthz`) until Redis returns. `/readyz` waits for it instead. It begins
   * once the start-up under way (the listener) has had its turn: over thousands of policy files
   * its parsing would otherwise come first.
   */
  async onApplicationBootstrap(): Promise<void> {
    this.startTimer = setTimeout(() => void this.resync('start'), 0);
    await this.source.watch(() => void this.resync('policy change'));
    this.timer = setInterval(() => void this.resync('periodic'), this.config.resyncIntervalMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.startTimer);
    await this.source.close();
    await this.chain;
    await this.catchingUp;
    await this.cleanup.close();
    this.connection.disconnect();
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
      const desired = await this.source.load((read, total) => {
        this.progress = `policies: ${count(read)} of ${count(total)} read from the policy source`;
      });
      this.logProblems(desired);
      this.progress = `policies: 0 of ${count(desired.policies.length)} applied`;
      const result = await this.reconciler.reconcile(
        desired,
        this.deps.clock(),
        (applied, total) =>
          (this.progress = `policies: ${count(applied)} of ${count(total)} applied`),
      );
      if (!this.lastSync) this.afterFirstPass(desired.policies.length);
      this.lastSync = this.deps.clock();
      await this.cleanUpRemoved(result);
      await this.source.reconciled?.(desired, result, this.lastSync);
      this.failures = 0;
      // A pass that changed nothing (the periodic resync, mostly) is not worth an info line.
      const changed = result.applied.length + result.removed.length + result.upserted.length > 0;
      this.logger[changed ? 'info' : 'debug'](
        { reason, policies: desired.policies.length, ...boundedResult(result) },
        'policies reconciled',
      );
      if (reason === 'periodic') this.catchUpStatus();
    } catch (error) {
      // Don't let one failed pass stop the next ones, nor wait for the periodic resync: retry
      // with backoff, so schedules begin within seconds of Redis returning.
      const retryInMs = Math.min(RETRY_BASE_MS * 2 ** this.failures, RETRY_MAX_MS);
      this.failures++;
      this.logger.error(
        { reason, err: (error as Error).message, retryInMs },
        'policy reconcile failed',
      );
      this.retryLater(retryInMs);
    }
  }

  /**
   * Kubernetes mode, after each periodic pass: writes the status and Event of every policy whose
   * latest run has not reached it (a worker killed between closing a run and writing its status,
   * a status write the API server refused). Each one is a warning: something failed before it.
   */
  private catchUpStatus(): void {
    // Beside the passes, not in their chain: its API writes wait on the client's rate limit.
    if (!this.statusCatchUp || this.catchingUp || this.closed) return;
    this.catchingUp = this.tellLateRuns(this.statusCatchUp).finally(() => {
      this.catchingUp = undefined;
    });
  }

  private async tellLateRuns(statusCatchUp: StatusCatchUp): Promise<void> {
    try {
      const result = await statusCatchUp();
      for (const { policy, runId } of result?.caughtUp.slice(0, LOGGED_KEYS) ?? []) {
        this.logger.warn(
          { policy, runId },
          `BackupPolicy ${policy}: status and Event of run ${runId} had not been written; written now`,
        );
      }
      const more = (result?.caughtUp.length ?? 0) - LOGGED_KEYS;
      if (more > 0) this.logger.warn({ more }, `${more} more policy statuses caught up`);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'policy status catch-up failed');
    }
  }

  /**
   * Start-up (loading the app, a first pass over thousands of policies) leaves the heap grown
   * for a burst the process will not see again: give that memory back (see `compactHeap`)
   * before the process settles down. The pause is short for a small heap.
   */
  private afterFirstPass(policies: number): void {
    const started = performance.now();
    const { rssBefore, rssAfter } = compactHeap();
    const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
    this.logger.info(
      {
        policies,
        rssMbBefore: mb(rssBefore),
        rssMbAfter: mb(rssAfter),
        ms: Math.round(performance.now() - started),
      },
      'heap compacted after the first policy pass',
    );
  }

  /** Logs each problem when it appears or changes, not on every pass; and when it is solved. */
  private logProblems(desired: DesiredPolicies): void {
    const now = new Map(desired.problems.map((p) => [p.source, p] as const));
    for (const [source, problem] of now) {
      const text = formatFieldErrors(problem.errors);
      if (this.logged.get(source) === text) continue;
      this.logged.set(source, text);
      for (const error of problem.errors) {
        this.logger.error(
          { source, field: boundText(error.field) },
          `invalid policy ${source}: ${boundText(error.field)}: ${boundText(error.message)}`,
        );
      }
    }
    for (const source of this.logged.keys()) {
      if (now.has(source)) continue;
      this.logged.delete(source);
      this.logger.info({ source }, `policy problem solved: ${source}`);
    }
  }

  private retryLater(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.resync('retry'), delayMs);
  }

  /**
   * Asks for a cleanup pass now for each removed policy. The job id is the removal's: the
   * policy's key and uid and when that version was applied, the same in every replica.
   */
  private async cleanUpRemoved(result: ReconcileResult): Promise<void> {
    if (result.removed.length === 0) return;
    try {
      const removed = await this.deps.policies.removed();
      for (const key of result.removed) {
        const stored = removed.find((p) => p.key === key);
        // Not remembered any more: a cleanup pass has already applied its deletionPolicy.
        if (!stored) continue;
        await this.cleanup.cleanupNow('policy.removed', `${key}_${stored.uid}_${stored.appliedAt}`);
      }
    } catch (error) {
      // The repeating cleanup pass applies it later; the removal itself has succeeded.
      this.logger.warn(
        { policies: result.removed, err: (error as Error).message },
        'cannot enqueue cleanup of removed policies',
      );
    }
  }
}
