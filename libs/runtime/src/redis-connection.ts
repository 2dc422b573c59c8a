import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { AUDIT_REDIS_OPTIONS } from '#lib/audit';

/**
 * A Redis client that logs its errors instead of crashing the process. `forBullMQ` clients
 * retry forever (`maxRetriesPerRequest: null`, as BullMQ's workers require); the others fail a
 * command quickly (`AUDIT_REDIS_OPTIONS`), so a request or job sees the outage instead of
 * hanging, and the job is retried by the queue.
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
    // Commands issued in the same tick by concurrent jobs travel in one write.
    enableAutoPipelining: !options.forBullMQ,
  };
  const redis = new Redis(url, redisOptions);
  redis.on('error', (error: Error) =>
    logger.warn({ redis: options.name, err: error.message }, 'redis connection error'),
  );
  return redis;
}
