import { resolve } from 'node:path';
import { EnvSchema, type Role } from './config.schema.js';
import { parseSentinelList, sentinelUrl, type RedisSentinelSettings } from './redis-target.js';

/** Validated settings of one process. Paths are absolute. */
export interface Config {
  mode: 'local' | 'kubernetes';
  /**
   * Where Redis is: a `redis://` URL, or with `REDIS_SENTINELS` a `redis+sentinel://` string
   * (see `sentinelUrl`). Unset in local mode: an embedded redis-server is started under the
   * data directory.
   */
  redisUrl?: string;
  /** The Sentinel setup `redisUrl` encodes, when Redis is found through Sentinel. */
  redisSentinel?: RedisSentinelSettings;
  host: string;
  port: number;
  dataDir: string;
  policyDir: string;
  apiToken?: string;
  roles: Role[];
  logLevel: string;
  driver: 'local' | 'memory' | 'csi';
  /**
   * Memory driver only: absolute path of a JSON file listing the volumes it starts with
   * (demos, benchmarks). Every process reading the same file sees the same volumes and uids.
   */
  memoryVolumesFile?: string;
  maxSnapshotsPerVolume: number;
  queuePrefix: string;
  workerConcurrency: number;
  jobLockMs: number;
  resyncIntervalMs: number;
  /** How often the repeating cleanup pass runs (one BullMQ job scheduler across replicas). */
  cleanupIntervalMs: number;
  /** How long a snapshot whose creation failed is kept for inspection before cleanup deletes it. */
  failedSnapshotGraceMs: number;
  readyTimeoutMs: number;
  auditMaxEvents: number;
  auditMaxAgeMs: number;
  runsMax: number;
  /** How kubernetes mode reaches the API server. */
  kube: KubeSettings;
}

/** Kubernetes-mode settings (ignored in local mode). */
export interface KubeSettings {
  /** Absolute kubeconfig path; `undefined` means in-cluster configuration. */
  kubeconfig?: string;
  /** The one namespace to watch; `undefined` watches every namespace. */
  namespace?: string;
  /** Client-side rate limit: sustained requests per second. */
  qps: number;
  /** Client-side rate limit: requests allowed in a burst above `qps`. */
  burst: number;
  /**
   * How long after a policy run's end its status and Event are left to the process that closed
   * it before the scheduler's catch-up writes them (see `catchUpPolicyStatus`).
   */
  statusCatchUpAfterMs: number;
}

/** Raised when the environment is invalid; the message names every offending variable. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment once. Empty strings count as unset, so `PORT=` in a manifest
 * falls back to the default rather than failing on an empty number.
 */
export function loadConfig(env: Record<string, string | undefined>, cwd = process.cwd()): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: issue.path.join('.') || '(environment)',
        message: issue.message,
      })),
    );
  }
  const e = parsed.data;
  if (e.SNAPWARDEN_KUBE_BURST < e.SNAPWARDEN_KUBE_QPS) {
    throw new ConfigError([
      { variable: 'SNAPWARDEN_KUBE_BURST', message: 'must be at least SNAPWARDEN_KUBE_QPS' },
    ]);
  }
  const redisSentinel = sentinelSettings(e);
  if (e.SNAPWARDEN_MODE === 'kubernetes' && e.REDIS_URL === undefined && !redisSentinel) {
    throw new ConfigError([
      {
        variable: 'REDIS_URL',
        message: 'is required in kubernetes mode (no embedded Redis), or set REDIS_SENTINELS',
      },
    ]);
  }
  const driver = driverOf(e);
  return {
    mode: e.SNAPWARDEN_MODE,
    redisUrl: redisSentinel ? sentinelUrl(redisSentinel) : e.REDIS_URL,
    ...(redisSentinel ? { redisSentinel } : {}),
    host: e.HOST,
    port: e.PORT,
    dataDir: resolve(cwd, e.SNAPWARDEN_DATA_DIR),
    policyDir: resolve(cwd, e.SNAPWARDEN_POLICY_DIR),
    apiToken: e.SNAPWARDEN_API_TOKEN,
    roles: e.SNAPWARDEN_ROLES,
    logLevel: e.LOG_LEVEL,
    driver,
    ...(e.SNAPWARDEN_MEMORY_VOLUMES_FILE === undefined
      ? {}
      : { memoryVolumesFile: resolve(cwd, e.SNAPWARDEN_MEMORY_VOLUMES_FILE) }),
    maxSnapshotsPerVolume: e.SNAPWARDEN_MAX_SNAPSHOTS_PER_VOLUME,
    queuePrefix: e.SNAPWARDEN_QUEUE_PREFIX,
    workerConcurrency: e.SNAPWARDEN_WORKER_CONCURRENCY,
    jobLockMs: e.SNAPWARDEN_JOB_LOCK_MS,
    resyncIntervalMs: e.SNAPWARDEN_RESYNC_INTERVAL,
    cleanupIntervalMs: e.SNAPWARDEN_CLEANUP_INTERVAL,
    failedSnapshotGraceMs: e.SNAPWARDEN_FAILED_SNAPSHOT_GRACE,
    readyTimeoutMs: e.SNAPWARDEN_READY_TIMEOUT,
    auditMaxEvents: e.SNAPWARDEN_AUDIT_MAX_EVENTS,
    auditMaxAgeMs: e.SNAPWARDEN_AUDIT_MAX_AGE,
    runsMax: e.SNAPWARDEN_RUNS_MAX,
    kube: {
      kubeconfig: e.KUBECONFIG === undefined ? undefined : resolve(cwd, e.KUBECONFIG),
      namespace: e.SNAPWARDEN_NAMESPACE,
      qps: e.SNAPWARDEN_KUBE_QPS,
      burst: e.SNAPWARDEN_KUBE_BURST,
      statusCatchUpAfterMs: e.SNAPWARDEN_STATUS_CATCH_UP_AFTER,
    },
  };
}

type ParsedEnv = ReturnType<typeof EnvSchema.parse>;

/** The storage driver; a memory seed file names a driver that is not the memory one. */
function driverOf(e: ParsedEnv): Config['driver'] {
  const driver = e.SNAPWARDEN_MODE === 'kubernetes' ? 'csi' : (e.SNAPWARDEN_DRIVER ?? 'local');
  if (e.SNAPWARDEN_MEMORY_VOLUMES_FILE !== undefined && driver !== 'memory') {
    throw new ConfigError([
      {
        variable: 'SNAPWARDEN_MEMORY_VOLUMES_FILE',
        message: 'is only used with SNAPWARDEN_DRIVER=memory',
      },
    ]);
  }
  return driver;
}

/** The Sentinel settings, when `REDIS_SENTINELS` is set; every inconsistent variable is named. */
function sentinelSettings(e: ParsedEnv): RedisSentinelSettings | undefined {
  const problems: { variable: string; message: string }[] = [];
  if (e.REDIS_SENTINELS === undefined) {
    for (const variable of [
      'REDIS_SENTINEL_NAME',
      'REDIS_SENTINEL_PASSWORD',
      'REDIS_PASSWORD',
    ] as const) {
      if (e[variable] !== undefined) {
        problems.push({ variable, message: 'is only used with REDIS_SENTINELS, which is unset' });
      }
    }
  } else {
    if (e.REDIS_URL !== undefined) {
      problems.push({
        variable: 'REDIS_URL',
        message: 'must be unset when REDIS_SENTINELS is set (the sentinels name the primary)',
      });
    }
    if (e.REDIS_SENTINEL_NAME === undefined) {
      problems.push({
        variable: 'REDIS_SENTINEL_NAME',
        message: 'is required with REDIS_SENTINELS (the name the sentinels monitor)',
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (e.REDIS_SENTINELS === undefined || e.REDIS_SENTINEL_NAME === undefined) return undefined;
  return {
    sentinels: parseSentinelList(e.REDIS_SENTINELS),
    name: e.REDIS_SENTINEL_NAME,
    ...(e.REDIS_SENTINEL_PASSWORD === undefined
      ? {}
      : { sentinelPassword: e.REDIS_SENTINEL_PASSWORD }),
    ...(e.REDIS_PASSWORD === undefined ? {} : { password: e.REDIS_PASSWORD }),
  };
}
