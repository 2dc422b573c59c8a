import type { Redis } from 'ioredis';
import { LuaScript } from '#lib/audit';
import type { ConcurrencyPolicy } from '#lib/policy';

const CLEAR = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

/** What the concurrency policy decided for one volume of a new run. */
export type AdmitDecision =
  { admitted: true; replaced?: string } | { admitted: false; blockedBy: string };

/**
 * The job currently responsible for each (policy, volume) pair, which `concurrencyPolicy`
 * consults: `Forbid` skips a new run while one is unfinished, `Replace` hands the volume to
 * the new run (the old job notices and stops), `Allow` lets both queue on the volume lock.
 */
export class ActiveRuns {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  async admit(
    policyKey: string,
    volumeUid: string,
    jobId: string,
    policy: ConcurrencyPolicy,
  ): Promise<AdmitDecision> {
    const key = this.key(policyKey, volumeUid);
    switch (policy) {
      case 'Allow':
        return { admitted: true };
      case 'Forbid': {
        const set = await this.redis.set(key, jobId, 'PX', this.ttlMs, 'NX');
        if (set === 'OK') return { admitted: true };
        const current = await this.redis.get(key);
        // A retried tick re-admits its own job.
        return current === jobId || current === null
          ? { admitted: true }
          : { admitted: false, blockedBy: current };
      }
      case 'Replace': {
        const previous = await this.redis.set(key, jobId, 'PX', this.ttlMs, 'GET');
        return previous && previous !== jobId
          ? { admitted: true, replaced: previous }
          : { admitted: true };
      }
    }
  }

  /** True when `jobId` was replaced by a newer run of the same policy and volume. */
  async isReplaced(policyKey: string, volumeUid: string, jobId: string): Promise<boolean> {
    const current = await this.redis.get(this.key(policyKey, volumeUid));
    return current !== null && current !== jobId;
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

  private key(policyKey: string, volumeUid: string): string {
    return `${this.prefix}:active:${policyKey}:${volumeUid}`;
  }
}
