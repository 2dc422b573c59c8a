import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { AUDIT_REDIS_OPTIONS } from '#lib/audit';
import { parseSentinelUrl } from '#lib/config';

/**
 * A Redis client that logs its errors instead of crashing the process. `forBullMQ` clients
 * retry forever (`maxRetriesPerRequest: null`, as BullMQ's workers require); the others fail a
 * command quickly (`AUDIT_REDIS_OPTIONS`), so a request or job sees the outage instead of
 * hanging, and the job is retried by the queue. `url` is a `redis://` URL or a
 * `redis+sentinel://` string (`REDIS_SENTINELS`): then the client asks the sentinels for the
 * current primary on every (re)connect and follows a failover by itself.
 *
 * No client auto-pipelines. ioredis holds an auto-pipelined command until the event loop's
 * check phase (`setImmediate`), after every reply that arrived in the same poll has been worked
 * through; the process and Redis then take turns, each idle while the other works the batch
 * (the worker's main thread was busy 66–69 % of the pipeline scenario's time, Redis 34–36 %, 103 %
 * together). Written at once, a command is worked on by Redis while the process goes on with the
 * next reply: 8–20 % more snapshots per second in alternated pairs of runs, and at concurrency 8
 * less CPU per snapshot (README, "Redis round trips").
 */
export function createRedis(
  url: string,
  logger: Logger,
  options: { forBullMQ?: boolean; name: string },
): Redis {
  const redisOptions: RedisOptions = {
    ...(options.forBullMQ ? { maxRetriesPerRequest: null } : AUDIT_REDIS_OPTIONS),
    enableReadyCheck: true,
    connectionName: `snapwarden-${options.name}`,
    retryStrategy: (times) => Math.min(times * 200, 5000),
    enableAutoPipelining: false,
  };
  const sentinel = parseSentinelUrl(url);
  const redis = sentinel
    ? new Redis({
        ...redisOptions,
        sentinels: sentinel.sentinels,
        name: sentinel.name,
        sentinelPassword: sentinel.sentinelPassword,
        password: sentinel.password,
        // No `failoverDetector`: in ioredis 6 it disconnects a client whose reconnect is still
        // asking the sentinels, and that client then ends for good ("Connection is closed").
        // A lost primary closes our sockets anyway, and a demoted one answers writes with
        // READONLY, which reconnects below.
        sentinelRetryStrategy: (times) => Math.min(times * 200, 2000),
        // 2: reconnect and send the refused command again, to the primary this time.
        reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
      })
    : new Redis(url, redisOptions);
  redis.on('error', (error: Error) =>
    logger.warn({ redis: options.name, err: error.message }, 'redis connection error'),
  );
  return redis;
}
