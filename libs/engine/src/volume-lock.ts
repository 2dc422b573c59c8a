import type { Redis } from 'ioredis';
import { APPEND_EVENTS_FUNCTION, LuaScript, type AuditBatch, type Lease } from '#lib/audit';

// Take the lock when free, or renew it when the same owner holds it (a job re-entering after
// a delayed re-check owns the lock it left behind).
const ACQUIRE = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`);

// ACQUIRE, and when the lock is taken, the events that say so appended in the same atomic step.
// KEYS: lock, audit stream. ARGV: owner, ttl ms, stream bound, event JSON...
const ACQUIRE_AND_APPEND = new LuaScript(`${APPEND_EVENTS_FUNCTION}
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  appendEvents(KEYS[2], ARGV[3], 4, #ARGV - 3)
  return 1
end
return 0`);

const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

/** What `work` holding a volume lock can do with it (see {@link VolumeLocks.withLock}). */
export interface LockHold {
  /** The lock as a lease, for a script that releases it together with the work's last write. */
  lease: Lease;
  /** Stops the renewals; called before such a script, so that none re-takes the lock after it. */
  stopRenewing(): void;
}

/**
 * One snapshot operation in flight per volume (invariant 4), across every worker process.
 * A lease in Redis: owned by a job id, expiring after `ttlMs` unless renewed, so a killed
 * worker's lock frees itself and its job, retried elsewhere, takes it again.
 */
export class VolumeLocks {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /**
   * True when `owner` now holds the lock of `volumeKey` for `ttlMs`. `announce` (events saying
   * the work begins) is appended in the same atomic step, and only when the lock is taken.
   */
  async acquire(
    volumeKey: string,
    owner: string,
    ttlMs: number,
    announce?: AuditBatch,
  ): Promise<boolean> {
    const key = this.key(volumeKey);
    const result = announce
      ? await ACQUIRE_AND_APPEND.run(
          this.redis,
          [key, announce.stream],
          [owner, String(ttlMs), String(announce.maxEvents), ...announce.entries],
        )
      : await ACQUIRE.run(this.redis, [key], [owner, String(ttlMs)]);
    return result === 1;
  }

  /** Releases the lock if `owner` still holds it; never releases another owner's lock. */
  async release(volumeKey: string, owner: string): Promise<void> {
    await RELEASE.run(this.redis, [this.key(volumeKey)], [owner]);
  }

  /** The lock as a lease, for a script that releases it together with other writes. */
  lease(volumeKey: string, owner: string): Lease {
    return { key: this.key(volumeKey), owner };
  }

  /** The current owner, if any. */
  async owner(volumeKey: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(volumeKey))) ?? undefined;
  }

  /**
   * Holds the lock for the duration of `work`, renewing it every third of `ttlMs`, and releases
   * it afterwards, unless `options.keepFor(result)` names a number of milliseconds: then the
   * lease is extended by that much and kept (a job handed back to re-check later keeps its
   * volume); or says `released`: `work` released it itself, with its last write (see
   * {@link LockHold}). Returns `undefined` without running `work` when another owner holds it.
   * The lock is asked for before this returns its promise: commands the caller sends right
   * after it travel behind it, and so read what holds once the lock is taken (when it is).
   * `options.announce` is written with the acquisition, only if the lock is taken (see
   * {@link acquire}).
   */
  async withLock<T>(
    volumeKey: string,
    owner: string,
    ttlMs: number,
    work: (hold: LockHold) => Promise<T>,
    options: {
      keepFor?: (result: T) => number | 'released' | undefined;
      announce?: AuditBatch;
    } = {},
  ): Promise<{ value: T } | undefined> {
    const { keepFor, announce } = options;
    if (!(await this.acquire(volumeKey, owner, ttlMs, announce))) return undefined;
    const renew = setInterval(
      () => {
        this.acquire(volumeKey, owner, ttlMs).catch(() => undefined);
      },
      Math.max(100, Math.floor(ttlMs / 3)),
    );
    let keepMs: number | 'released' | undefined;
    const hold: LockHold = {
      lease: this.lease(volumeKey, owner),
      stopRenewing: () => clearInterval(renew),
    };
    try {
      const value = await work(hold);
      keepMs = keepFor?.(value);
      return { value };
    } finally {
      clearInterval(renew);
      if (keepMs === undefined) await this.release(volumeKey, owner);
      else if (keepMs !== 'released') await this.acquire(volumeKey, owner, ttlMs + keepMs);
    }
  }

  private key(volumeKey: string): string {
    return `${this.prefix}:lock:volume:${volumeKey}`;
  }
}
