import type { Redis } from 'ioredis';

/**
 * `once(key)` is true for exactly one caller across every replica, for `ttlMs` after the first
 * call: used where two processes may both observe the same transition.
 */
export function redisOnce(redis: Redis, prefix: string, ttlMs = 7 * 24 * 3600 * 1000) {
  return async (key: string): Promise<boolean> =>
    (await redis.set(`${prefix}:once:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
}
