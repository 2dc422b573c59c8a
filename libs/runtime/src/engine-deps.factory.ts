import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { AuditLog, RunStore } from '#lib/audit';
import {
  ActiveRuns,
  DEFAULT_TIMINGS,
  DeletionIntents,
  HookRunner,
  LocalHookExecutor,
  PendingHooks,
  PolicyStore,
  SnapshotsInUse,
  VolumeLocks,
  redisOnce,
  type EngineDeps,
  type EngineTimings,
  type JobLiveness,
  type HookExecutor,
} from '#lib/engine';
import type { SnapshotDriver } from '#lib/storage';

/** What the engine's stores need besides a Redis client and a driver. */
export interface EngineDepsOptions {
  /** Key prefix of every snapwarden key; also the BullMQ prefix. */
  prefix: string;
  auditMaxEvents?: number;
  auditMaxAgeMs?: number;
  runsMax?: number;
  /** How long workers may reuse a policy read from Redis (default 1 s). */
  policyCacheMs?: number;
  timings?: Partial<EngineTimings>;
  /** Tells whether a snapshot job is still live, so a marker a dead job left is taken over. */
  liveness?: JobLiveness;
  /** Runs hook commands; default: on this host, with no volume path. */
  hookExecutor?: HookExecutor;
}

/** Backstop expiry of a concurrency marker; its job's end or liveness is what frees it. */
const MARKER_BACKSTOP_MS = 7 * 24 * 3_600_000;

/** Builds the engine's stores over one Redis client: used by the app, tests and benchmarks. */
export function createEngineDeps(
  redis: Redis,
  driver: SnapshotDriver,
  options: EngineDepsOptions,
): EngineDeps {
  const { prefix } = options;
  const timings = { ...DEFAULT_TIMINGS, ...options.timings };
  const identity = `${hostname()}/${process.pid}`;
  const audit = new AuditLog(redis, {
    prefix: `${prefix}:`,
    maxEvents: options.auditMaxEvents,
    maxAgeMs: options.auditMaxAgeMs,
  });
  const executor = options.hookExecutor ?? new LocalHookExecutor(() => '');
  return {
    driver,
    policies: new PolicyStore(redis, prefix, options.policyCacheMs ?? 1000),
    audit,
    runs: new RunStore(redis, { prefix: `${prefix}:`, maxRuns: options.runsMax }),
    locks: new VolumeLocks(redis, prefix),
    deletions: new DeletionIntents(redis, prefix),
    activeRuns: new ActiveRuns(redis, prefix, MARKER_BACKSTOP_MS, options.liveness),
    timings,
    clock: () => new Date(),
    identity,
    once: redisOnce(redis, prefix),
    protection: new SnapshotsInUse(redis, prefix),
    hooks: new HookRunner(executor, new PendingHooks(redis, prefix), audit, identity),
  };
}
