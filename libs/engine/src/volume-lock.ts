import type { Redis } from 'ioredis';
import { APPEND_EVENTS_FUNCTION, LuaScript, type AuditBatch, type Lease } from '#lib/audit';

// Take the lock when free, renew it when it holds ARGV[1], or take it over from ARGV[3] when it
// holds that (a job re-entering the lock it parked for a delayed re-check; see `attempt`).
// KEYS: lock. ARGV: value, ttl ms, value it may take over ('' for none).
const ACQUIRE = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] or (ARGV[3] ~= '' and current == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`);

// ACQUIRE, and when the lock is taken, in the same atomic step: the reads its holder needs first
// (see {@link LockedRead}), returned after the 1, and the events that say the work begins.
// With a guard field, the lock is not taken (0, as when busy) while the guard hash holds a
// final result (succeeded, failed or skipped) in that field.
// KEYS: lock, audit stream (or the lock again), guard hash (or the lock again), one key per read.
// ARGV: value, ttl ms, value it may take over ('' for none), guard field ('' for none),
// read count n, n read commands, stream bound, event JSON...
const ACQUIRE_READ_APPEND = new LuaScript(`${APPEND_EVENTS_FUNCTION}
local current = redis.call('GET', KEYS[1])
if current ~= false and current ~= ARGV[1] and (ARGV[3] == '' or current ~= ARGV[3]) then
  return 0
end
if ARGV[4] ~= '' then
  local result = redis.call('HGET', KEYS[3], ARGV[4])
  if result then
    local ok, decoded = pcall(cjson.decode, result)
    local state = ok and type(decoded) == 'table' and decoded.state
    if state == 'succeeded' or state == 'failed' or state == 'skipped' then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local reads = tonumber(ARGV[5])
local taken = {1}
for i = 1, reads do taken[i + 1] = redis.call(ARGV[5 + i], KEYS[3 + i]) end
local bound = 6 + reads
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

/** A hash field whose final result keeps a lock from being taken (see `VolumeLocks.take`). */
export interface FinishedGuard {
  key: string;
  field: string;
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
   * `undefined` when another owner holds the lock. With `attempt` (one delivery of a job by the
   * queue, e.g. BullMQ's token) the lock is held by `owner@attempt`: another delivery of the
   * same job, running at the same time after its first worker lost the job's queue lock, finds
   * it busy; a lock the job parked for a re-check (held by plain `owner`, see
   * {@link withLock}) is taken over by its next delivery. With `unlessFinished` the lock is not
   * taken (as if busy) once that field holds a final result: a delivery that lost the race to
   * another one does not start the work that one finished.
   */
  async take<R extends LockedReads<R>>(
    volumeKey: string,
    owner: string,
    ttlMs: number,
    options: { announce?: AuditBatch; reads?: R; attempt?: string; unlessFinished?: FinishedGuard },
  ): Promise<ReadValues<R> | undefined> {
    const lock = this.key(volumeKey);
    const { announce, attempt, unlessFinished: guard } = options;
    const value = holderOf(owner, attempt);
    const parked = attempt === undefined ? '' : owner;
    const reads = presentReads(options.reads);
    if (!announce && reads.length === 0 && !guard) {
      const taken = await ACQUIRE.run(this.redis, [lock], [value, String(ttlMs), parked]);
      return taken === 1 ? ({} as ReadValues<R>) : undefined;
    }
    const [keys, args] = acquireReadAppendArgs(lock, [value, String(ttlMs), parked], reads, {
      announce,
      guard,
    });
    const result = await ACQUIRE_READ_APPEND.run(this.redis, keys, args);
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
   * if the lock is taken (see {@link take}); `work` finds their values in `hold.read`. With
   * `options.attempt` the lock is held by this delivery of the job alone (see {@link take}), and
   * a lock kept for a re-check is parked under plain `owner` for the job's next delivery.
   * `options.unlessFinished` leaves the lock alone once that result is final (see {@link take}).
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
      attempt?: string;
      unlessFinished?: FinishedGuard;
    } = {},
  ): Promise<{ value: T } | undefined> {
    const { keepFor, announce, reads, attempt, unlessFinished } = options;
    const read = await this.take(volumeKey, owner, ttlMs, {
      announce,
      reads,
      attempt,
      unlessFinished,
    });
    if (!read) return undefined;
    const holder = holderOf(owner, attempt);
    const renew = setInterval(
      () => {
        this.acquire(volumeKey, holder, ttlMs).catch(() => undefined);
      },
      Math.max(100, Math.floor(ttlMs / 3)),
    );
    let keepMs: number | 'released' | undefined;
    const hold: LockHold<R> = {
      read,
      lease: this.lease(volumeKey, holder),
      stopRenewing: () => clearInterval(renew),
    };
    try {
      const value = await work(hold);
      keepMs = keepFor?.(value);
      return { value };
    } finally {
      clearInterval(renew);
      if (keepMs === undefined) await this.release(volumeKey, holder);
      else if (keepMs !== 'released') await this.park(volumeKey, owner, holder, ttlMs + keepMs);
    }
  }

  /** Hands the lock `holder` holds to plain `owner` for `ttlMs`: the job's next delivery. */
  private async park(volumeKey: string, owner: string, holder: string, ttlMs: number) {
    await ACQUIRE.run(this.redis, [this.key(volumeKey)], [owner, String(ttlMs), holder]);
  }

  private key(volumeKey: string): string {
    return `${this.prefix}:lock:volume:${volumeKey}`;
  }
}

/** KEYS and ARGV of {@link ACQUIRE_READ_APPEND}: `head` is the lock value, ttl and parked value. */
function acquireReadAppendArgs(
  lock: string,
  head: [string, string, string],
  reads: [string, LockedRead<unknown>][],
  { announce, guard }: { announce?: AuditBatch; guard?: FinishedGuard },
): [string[], string[]] {
  const keys = [lock, announce?.stream ?? lock, guard?.key ?? lock, ...reads.map(([, r]) => r.key)];
  const args = [
    ...head,
    guard?.field ?? '',
    String(reads.length),
    ...reads.map(([, read]) => read.command),
    String(announce?.maxEvents ?? 0),
    ...(announce?.entries ?? []),
  ];
  return [keys, args];
}

/** The reads of a map that read something, by name. */
function presentReads<R extends LockedReads<R>>(reads: R | undefined) {
  return Object.entries<LockedRead<unknown> | undefined>(reads ?? {}).filter(
    (entry): entry is [string, LockedRead<unknown>] => entry[1] !== undefined,
  );
}

/** What the lock holds while `owner` works in delivery `attempt` (see `VolumeLocks.take`). */
function holderOf(owner: string, attempt: string | undefined): string {
  return attempt === undefined ? owner : `${owner}@${attempt}`;
}
