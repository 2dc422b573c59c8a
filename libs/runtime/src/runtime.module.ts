import {
  Global,
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '#lib/config';
import type { SnapshotDriver } from '#lib/storage';
import { KubeWorkloads } from '#lib/kube';
import { createEngineDeps } from './engine-deps.factory.js';
import { KubeWorkloadPort } from './kube-workload-port.js';
import {
  createKubeClient,
  createPolicyStatusObserver,
  createStatusCatchUp,
  type StatusCatchUp,
} from './kube-runtime.js';
import {
  createKubeInformers,
  registerInformerReadiness,
  type KubeInformers,
} from './kube-informers.js';
import { createHookExecutor, createModeDriver } from './mode-driver.js';
import { QueueRegistry } from './queue-registry.js';
import { Readiness } from './readiness.js';
import { checkKeyLayoutWhenReachable } from './key-layout.js';
import { createRedis } from './redis-connection.js';
import {
  AUDIT_LOG,
  CONFIG,
  DRIVER,
  ENGINE_DEPS,
  KUBE_CLIENT,
  KUBE_INFORMERS,
  LOGGER,
  POLICY_STORE,
  REDIS,
  RUN_STORE,
  STATUS_CATCH_UP,
} from './runtime.constants.js';
import { logRunEnds } from './run-log.observer.js';

/** Closes the shared connections after every role has stopped. */
class RuntimeShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(DRIVER) private readonly driver: SnapshotDriver,
    @Inject(QueueRegistry) private readonly queues: QueueRegistry,
    @Inject(KUBE_INFORMERS) private readonly informers: KubeInformers | null,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.queues.close();
    await this.driver.close();
    // The driver stops only the informers it started; the shared ones are ours.
    this.informers?.snapshotInformer.stop();
    this.informers?.claimInformer.stop();
    this.redis.disconnect();
  }
}

/**
 * Refuses to start on keys of an unknown layout, before any role touches them. When Redis does
 * not answer at start, the process starts all the same (liveness, `/readyz` "redis
 * unreachable") and checks the layout as soon as Redis answers: an unknown layout then stops it.
 */
class KeyLayoutCheck implements OnModuleInit {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const check = checkKeyLayoutWhenReachable(
      this.redis,
      this.config.queuePrefix,
      Number.POSITIVE_INFINITY,
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'pending'>((resolve) => {
      timer = setTimeout(() => resolve('pending'), KEY_LAYOUT_START_WAIT_MS);
    });
    const outcome = await Promise.race([check.then(() => 'checked' as const), waited]);
    clearTimeout(timer);
    if (outcome === 'checked') return;
    this.logger.warn('redis unreachable at start: its key layout is checked once it answers');
    check.catch((error: unknown) => {
      this.logger.fatal({ err: (error as Error).message }, 'refusing to run');
      process.exitCode = 1;
      process.kill(process.pid, 'SIGTERM');
    });
  }
}

/** How long start-up waits for Redis to answer the key-layout check before going on without it. */
const KEY_LAYOUT_START_WAIT_MS = 3_000;

/** `/readyz` says "redis unreachable" while the shared connection is down, not ioredis' text. */
async function redisReadiness(redis: Redis): Promise<string | undefined> {
  if (redis.status !== 'ready') return REDIS_UNREACHABLE;
  try {
    return (await redis.ping()) === 'PONG' ? undefined : REDIS_UNREACHABLE;
  } catch {
    return REDIS_UNREACHABLE;
  }
}

const REDIS_UNREACHABLE = 'redis unreachable';

/**
 * Shared providers of every role: configuration, logger, the Redis connection, the storage
 * driver, the engine's stores and the queue producers. Global so role modules only import it
 * once, through the app module.
 */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(config: Config, redisUrl: string, logger: Logger): DynamicModule {
    const redis = createRedis(redisUrl, logger, { name: 'store' });
    const kube = config.mode === 'kubernetes' ? createKubeClient(config) : undefined;
    const informers = kube ? createKubeInformers(kube) : undefined;
    const driver = createModeDriver(config, kube && informers ? { kube, informers } : undefined);
    const queues = new QueueRegistry(redisUrl, config.queuePrefix, logger);
    const deps = createEngineDeps(redis, driver, {
      hookExecutor: createHookExecutor(config, kube),
      prefix: config.queuePrefix,
      liveness: queues,
      auditMaxEvents: config.auditMaxEvents,
      auditMaxAgeMs: config.auditMaxAgeMs,
      runsMax: config.runsMax,
      timings: {
        lockTtlMs: Math.max(config.jobLockMs, 2_000),
        readyTimeoutMs: config.readyTimeoutMs,
      },
    });
    deps.log = logger;
    let statusCatchUp: StatusCatchUp | undefined;
    if (kube) {
      deps.workloads = new KubeWorkloadPort(new KubeWorkloads(kube));
      const statusObserver = createPolicyStatusObserver(kube, deps, redis, {
        prefix: config.queuePrefix,
        logger,
      });
      deps.runObserver = statusObserver;
      statusCatchUp = createStatusCatchUp(deps, statusObserver, redis, {
        prefix: config.queuePrefix,
        graceMs: config.kube.statusCatchUpAfterMs,
        turnMs: Math.max(1000, config.resyncIntervalMs / 2),
      });
    }
    deps.runObserver = logRunEnds(logger, deps.runObserver);
    const readiness = new Readiness();
    if (informers) registerInformerReadiness(readiness, informers);
    readiness.register('redis', () => redisReadiness(redis));
    const values = [
      { provide: CONFIG, useValue: config },
      { provide: LOGGER, useValue: logger },
      { provide: REDIS, useValue: redis },
      { provide: DRIVER, useValue: driver },
      { provide: POLICY_STORE, useValue: deps.policies },
      { provide: AUDIT_LOG, useValue: deps.audit },
      { provide: RUN_STORE, useValue: deps.runs },
      { provide: ENGINE_DEPS, useValue: deps },
      { provide: QueueRegistry, useValue: queues },
      { provide: Readiness, useValue: readiness },
      { provide: KUBE_CLIENT, useValue: kube ?? null },
      { provide: KUBE_INFORMERS, useValue: informers ?? null },
      { provide: STATUS_CATCH_UP, useValue: statusCatchUp ?? null },
    ];
    return {
      module: RuntimeModule,
      providers: [...values, KeyLayoutCheck, RuntimeShutdown],
      exports: values.map((v) => v.provide),
    };
  }
}
