import type { Redis } from 'ioredis';

/**
 * Version of the layout of snapwarden's keys in Redis (queues, audit stream, run history,
 * policies, locks). Raised when a release changes that layout; the upgrade notes in the README
 * say which releases wrote which version and how to move between them.
 */
export const KEY_LAYOUT_VERSION = 1;

/** The key holding the layout version, beside every other key of the prefix. */
export const layoutKey = (prefix: string): string => `${prefix}:layout-version`;

/** Redis holds keys in a layout this build does not know: starting would misread them. */
export class KeyLayoutError extends Error {
  constructor(
    readonly found: string,
    readonly prefix: string,
  ) {
    super(
      `Redis key layout version "${found}" under prefix "${prefix}" (key ${layoutKey(prefix)}) is ` +
        `not the layout ${KEY_LAYOUT_VERSION} this snapwarden uses: it was written by another ` +
        `release. Run that release (or a newer one that knows both layouts), or point REDIS_URL / ` +
        `SNAPWARDEN_QUEUE_PREFIX at an empty Redis or prefix. See "Upgrade notes" in the README.`,
    );
    this.name = 'KeyLayoutError';
  }
}

/**
 * Stamps an empty prefix with {@link KEY_LAYOUT_VERSION}, or checks the stamp already there.
 * Keys written before the stamp existed (0.1.0) are layout 1 and get stamped. Throws
 * {@link KeyLayoutError} for any other stamp.
 */
export async function checkKeyLayout(redis: Redis, prefix: string): Promise<void> {
  const key = layoutKey(prefix);
  // NX: replicas starting together agree on the one stamp written first.
  await redis.set(key, String(KEY_LAYOUT_VERSION), 'NX');
  const found = await redis.get(key);
  if (found !== String(KEY_LAYOUT_VERSION)) throw new KeyLayoutError(found ?? '', prefix);
}

/**
 * {@link checkKeyLayout}, retried while Redis cannot be reached (it may be starting alongside)
 * for up to `waitMs`; a {@link KeyLayoutError} is thrown at once.
 */
export async function checkKeyLayoutWhenReachable(
  redis: Redis,
  prefix: string,
  waitMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await checkKeyLayout(redis, prefix);
      return;
    } catch (error) {
      if (error instanceof KeyLayoutError) throw error;
      if (Date.now() > deadline) {
        throw new Error(
          `Redis did not answer within ${Math.round(waitMs / 1000)} s of start-up, so its key ` +
            `layout could not be checked: ${(error as Error).message}`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
