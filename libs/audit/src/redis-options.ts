import type { RedisOptions } from 'ioredis';

/**
 * Client options for the connection the engine writes audit events and run history with.
 * Unlike BullMQ worker connections (`maxRetriesPerRequest: null`, wait forever), an audit
 * write must fail fast when Redis is gone, so the step that reports it can fail and be
 * retried instead of hanging: one reconnect attempt per command, and a command timeout.
 */
export const AUDIT_REDIS_OPTIONS = {
  maxRetriesPerRequest: 1,
  commandTimeout: 5_000,
  connectTimeout: 5_000,
} as const satisfies RedisOptions;
