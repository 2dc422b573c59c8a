import { randomUUID } from 'node:crypto';
import type { Worker } from 'bullmq';
import { pino } from 'pino';
import type { Redis } from 'ioredis';
import type { RunRecord } from '#lib/audit';
import { parseBackupPolicy } from '#lib/policy';
import { JOB, TICK_JOB_OPTIONS, scheduledRunId, type TickJobData } from '#lib/queues';
import { createEngineDeps, createRedis, QueueRegistry, type EngineDepsOptions } from '#lib/runtime';
import type { EngineDeps, StoredPolicy } from '#lib/engine';
import type { SnapshotDriver } from '#lib/storage';
import { createWorkers } from '../../apps/worker/src/create-workers.js';

/**
 * A BackupPolicy document in `default` over the volumes labelled `tier: db`, hourly, keeping the
 * last 3; `spec` replaces any of that.
 */
export function tierPolicy(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'snapwarden.io/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name, namespace: 'default' },
    spec: {
      schedule: '0 * * * *',
      selector: { matchLabels: { tier: 'db' } },
      retention: { keepLast: 3 },
      ...spec,
    },
  };
}

/** The engine wired as the worker role wires it, without Nest or HTTP: for tests and benchmarks. */
export interface EngineHarness {
  prefix: string;
  deps: EngineDeps;
  queues: QueueRegistry;
  redis: Redis;
  /** Stores a policy (a BackupPolicy document) as the scheduler would. */
  addPolicy(document: unknown): Promise<StoredPolicy>;
  /** Adds the tick job a job scheduler would add for `scheduledAt`; returns the run id. */
  tick(policyKey: string, scheduledAt: Date): Promise<string>;
  /** Starts `count` more worker processes' worth of BullMQ workers in this process. */
  startWorkers(count?: number, concurrency?: number): Worker[];
  waitForRun(runId: string, timeoutMs?: number): Promise<RunRecord>;
  close(): Promise<void>;
}

export function createEngineHarness(options: {
  redisUrl: string;
  driver: SnapshotDriver;
  timings?: EngineDepsOptions['timings'];
  lockDurationMs?: number;
}): EngineHarness {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const logger = pino({ level: 'silent' });
  const redis = createRedis(options.redisUrl, logger, { name: 'harness' });
  const queues = new QueueRegistry(options.redisUrl, prefix, logger);
  const deps = createEngineDeps(redis, options.driver, {
    prefix,
    timings: options.timings,
    liveness: queues,
  });
  const workers: Worker[] = [];
  return {
    prefix,
    deps,
    queues,
    redis,
    async addPolicy(document) {
      const parsed = parseBackupPolicy(document, {
        defaultDriver: options.driver.name,
        maxSnapshotsPerVolume: () => undefined,
      });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      return deps.policies.put(parsed.policy, 'test', new Date());
    },
    async tick(policyKey, scheduledAt) {
      const stored = await deps.policies.get(policyKey);
      const data: TickJobData = { policyKey, specHash: stored?.specHash ?? '' };
      await queues.ticks.add(JOB.tick, data, {
        ...TICK_JOB_OPTIONS,
        jobId: `manual_${policyKey.replace('/', '.')}_${scheduledAt.getTime()}`,
        timestamp: scheduledAt.getTime(),
      });
      return scheduledRunId(policyKey, scheduledAt.getTime());
    },
    startWorkers(count = 1, concurrency = 8) {
      const started: Worker[] = [];
      for (let i = 0; i < count; i++) {
        started.push(
          ...createWorkers(
            deps,
            queues,
            { prefix, concurrency, lockDurationMs: options.lockDurationMs ?? 30_000 },
            logger,
          ),
        );
      }
      workers.push(...started);
      return started;
    },
    async waitForRun(runId, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = await deps.runs.state(runId);
        const run = state && state !== 'running' ? await deps.runs.get(runId) : undefined;
        if (run) return run;
        if (Date.now() > deadline) {
          throw new Error(`run ${runId} not finished: ${JSON.stringify(run)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await Promise.all(workers.map((w) => w.close(true)));
      for (const queue of queues.all())
        await queue.obliterate({ force: true }).catch(() => undefined);
      await queues.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
}
