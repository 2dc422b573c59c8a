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

// ACQUIRE, and when the lock is taken, in the same atomic step: the reads its holder needs first
// (see {@link LockedRead}), returned after the 1, and the events that say the work begins.
// KEYS: lock, audit stream (or the lock again), one key per read.
// ARGV: owner, ttl ms, read count n, n read commands, stream bound, event JSON...
const ACQUIRE_READ_APPEND = new LuaScript(`${APPEND_EVENTS_FUNCTION}
local current = redis.call('GET', KEYS[1])
if current ~= false and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local reads = tonumber(ARGV[3])
local taken = {1}
for i = 1, reads do taken[i + 1] = redis.call(ARGV[3 + i], KEYS[2 + i]) end
local bound = 4 + reads
appendEvents(KEYS[2], ARGV[bound], bound + 1, #ARGV - bound)
return taken`);

const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

/**
 * A read made by the script that takes a lock, in the same atomic step and only when it is
 * taken: what the holder must know first (state a killed holder left behind) arrives with the
 * lock, at no extra round trip. `decode` turns the command's raw reply into the value.
 */
export interface LockedRead<T> {
  command: 'GET' | 'SMEMBERS' | 'HGETALL';
  key: string;
  decode(raw: unknown): T;
}

/** A map of {@link LockedRead}s; an absent or undefined entry reads nothing. */
export type LockedReads<R> = { [K in keyof R]?: LockedRead<unknown> };

/** Values of a map of {@link LockedRead}s. */
export type ReadValues<R> = {
  [K in keyof R]: NonNullable<R[K]> extends LockedRead<infer T> ? T : never;
};

/** What `work` holding a volume lock can do with it (see {@link VolumeLocks.withLock}). */
export interface LockHold<R extends LockedReads<R> = Record<string, never>> {
  /** What the {@link LockedRead}s asked with the lock read when it was taken. */
  read: ReadValues<R>;
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
    return (await this.take(volumeKey, owner, ttlMs, { announce })) !== undefined;
  }

  /**
   * {@link acquire}, which also makes `reads` when the lock is taken and returns their values;
   * `undefined` when another owner holds the lock.
   */
  async take<R extends LockedReads<R>>(
    volumeKey: string,
    owner: string,
    ttlMs: number,
    options: { announce?: AuditBatch; reads?: R },
  ): Promise<ReadValues<R> | undefined> {
    const lock = this.key(volumeKey);
    const { announce } = options;
    const reads = Object.entries<LockedRead<unknown> | undefined>(options.reads ?? {}).filter(
      (entry): entry is [string, LockedRead<unknown>] => entry[1] !== undefined,
    );
    if (!announce && reads.length === 0) {
      const taken = await ACQUIRE.run(this.redis, [lock], [owner, String(ttlMs)]);
      return taken === 1 ? ({} as ReadValues<R>) : undefined;
    }
    const result = await ACQUIRE_READ_APPEND.run(
      this.redis,
      [lock, announce?.stream ?? lock, ...reads.map(([, read]) => read.key)],
      [
        owner,
        String(ttlMs),
        String(reads.length),
        ...reads.map(([, read]) => read.command),
        String(announce?.maxEvents ?? 0),
        ...(announce?.entries ?? []),
      ],
    );
    if (!Array.isArray(result)) return undefined;
    const values: Record<string, unknown> = {};
    reads.forEach(([name, read], i) => (values[name] = read.decode(result[i + 1])));
    return values as ReadValues<R>;
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
   * `options.announce` is written with the acquisition, and `options.reads` made with it, only
   * if the lock is taken (see {@link take}); `work` finds their values in `hold.read`.
   */
  async withLock<T, R extends LockedReads<R> = Record<string, never>>(
    volumeKey: string,
    owner: string,
    ttlMs: number,
    work: (hold: LockHold<R>) => Promise<T>,
    options: {
      keepFor?: (result: T) => number | 'released' | undefined;
      announce?: AuditBatch;
      reads?: R;
    } = {},
  ): Promise<{ value: T } | undefined> {
    const { keepFor, announce, reads } = options;
    const read = await this.take(volumeKey, owner, ttlMs, { announce, reads });
    if (!read) return undefined;
    const renew = setInterval(
      () => {
        this.acquire(volumeKey, owner, ttlMs).catch(() => undefined);
      },
      Math.max(100, Math.floor(ttlMs / 3)),
    );
    let keepMs: number | 'released' | undefined;
    const hold: LockHold<R> = {
      read,
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
