import type { Redis } from 'ioredis';
import { LuaScript, type Lease } from '#lib/audit';
import type { ConcurrencyPolicy } from '#lib/policy';

// Takes each pair for its job unless another job holds it (`Forbid`), or hands it over and
// returns the previous holder (`Replace`). One round trip for the whole tick.
// KEYS: pair keys. ARGV: mode, safety ttl ms, job ids (one per key).
// Returns, per key, '' when taken (or already ours) or the holder that blocks / was replaced.
const ADMIT = new LuaScript(`
local out = {}
for i = 1, #KEYS do
  local job = ARGV[i + 2]
  local current = redis.call('GET', KEYS[i])
  if ARGV[1] == 'Replace' or current == false or current == job then
    redis.call('SET', KEYS[i], job, 'PX', ARGV[2])
    if current == false or current == job then out[i] = '' else out[i] = current end
  else
    out[i] = current
  end
end
return out`);

// Hands the pair from a holder that is gone to a new job, unless it changed meanwhile.
const TAKE_OVER = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`);

const CLEAR = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

/** What the concurrency policy decided for one volume of a new run. */
export type AdmitDecision =
  | { admitted: true; replaced?: string; tookOverFrom?: string }
  | { admitted: false; blockedBy: string };

/** Whether a job still has work to do: waiting, delayed or running (not finished, not gone). */
export interface JobLiveness {
  isLive(jobId: string): Promise<boolean>;
}

/** One volume of a tick asking to be admitted. */
export interface AdmitRequest {
  volumeUid: string;
  jobId: string;
}

/**
 * The job currently responsible for each (policy, volume) pair, which `concurrencyPolicy`
 * consults: `Forbid` skips a new run while one is unfinished, `Replace` hands the volume to
 * the new run (the old job notices and stops), `Allow` lets both queue on the volume lock.
 * A pair is held exactly as long as its job: the job's end releases it, and a holder whose job
 * is finished or gone (a crash on the way out) is taken over when it would block a new run.
 * `ttlMs` is only a backstop for Redis keys nobody asks about again.
 */
export class ActiveRuns {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
    private readonly liveness?: JobLiveness,
  ) {}

  async admit(
    policyKey: string,
    volumeUid: string,
    jobId: string,
    policy: ConcurrencyPolicy,
  ): Promise<AdmitDecision> {
    const [decision] = await this.admitMany(policyKey, [{ volumeUid, jobId }], policy);
    return decision ?? { admitted: true };
  }

  /** {@link admit} for every volume of a tick, in one round trip (plus one per stale holder). */
  async admitMany(
    policyKey: string,
    requests: readonly AdmitRequest[],
    policy: ConcurrencyPolicy,
  ): Promise<AdmitDecision[]> {
    if (policy === 'Allow' || requests.length === 0)
      return requests.map(() => ({ admitted: true }));
    const keys = requests.map((r) => this.key(policyKey, r.volumeUid));
    const args = [policy, String(this.ttlMs), ...requests.map((r) => r.jobId)];
    const holders = (await ADMIT.run(this.redis, keys, args)) as string[];
    return Promise.all(
      requests.map(async (request, i): Promise<AdmitDecision> => {
        const holder = holders[i] ?? '';
        if (holder === '') return { admitted: true };
        if (policy === 'Replace') return { admitted: true, replaced: holder };
        return this.takeOverIfGone(keys[i] ?? '', holder, request.jobId);
      }),
    );
  }

  /** True when `jobId` was replaced by a newer run of the same policy and volume. */
  async isReplaced(policyKey: string, volumeUid: string, jobId: string): Promise<boolean> {
    const current = await this.redis.get(this.key(policyKey, volumeUid));
    return current !== null && current !== jobId;
  }

  /** The job holding the pair, if any. */
  async holder(policyKey: string, volumeUid: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(policyKey, volumeUid))) ?? undefined;
  }

  /** Releases the pair if `jobId` still holds it. `Allow` never took it, so there is nothing to do. */
  async finish(
    policyKey: string,
    volumeUid: string,
    jobId: string,
    policy: ConcurrencyPolicy,
  ): Promise<void> {
    if (policy === 'Allow') return;
    await CLEAR.run(this.redis, [this.key(policyKey, volumeUid)], [jobId]);
  }

  /**
   * The pair as a lease of `jobId`, for a script that releases it together with the job's
   * last writes ({@link finish} in the same step); `undefined` for `Allow`, which never took it.
   */
  lease(
    policyKey: string,
    volumeUid: string,
    jobId: string,
    policy: ConcurrencyPolicy,
  ): Lease | undefined {
    return policy === 'Allow' ? undefined : { key: this.key(policyKey, volumeUid), owner: jobId };
  }

  private async takeOverIfGone(key: string, holder: string, jobId: string): Promise<AdmitDecision> {
    if (!this.liveness || (await this.liveness.isLive(holder))) {
      return { admitted: false, blockedBy: holder };
    }
    const taken = await TAKE_OVER.run(this.redis, [key], [holder, jobId, String(this.ttlMs)]);
    if (taken === 1) return { admitted: true, tookOverFrom: holder };
    // The pair changed hands meanwhile: one more plain attempt decides.
    const [again] = (await ADMIT.run(
      this.redis,
      [key],
      ['Forbid', String(this.ttlMs), jobId],
    )) as string[];
    return again ? { admitted: false, blockedBy: again } : { admitted: true };
  }

  private key(policyKey: string, volumeUid: string): string {
    return `${this.prefix}:active:${policyKey}:${volumeUid}`;
  }
}
