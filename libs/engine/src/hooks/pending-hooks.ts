import type { Redis } from 'ioredis';
import type { Hook } from '#lib/policy';
import type { VolumeRef } from '#lib/storage';
import type { LockedRead } from '../volume-lock.js';

/** Post hooks owed to a volume: its pre hooks ran and its post hooks have not finished. */
export interface PendingPost {
  snapshotName: string;
  post: Hook[];
  /** Audit context of the operation that ran the pre hooks. */
  trigger: string;
  policy?: string;
  runId?: string;
  at: string;
}

const TTL_SECONDS = 30 * 24 * 3600;

/**
 * "The pre hooks of snapshot X ran" per volume, in Redis, written before the first pre hook
 * and removed once the post hooks finished. A worker killed in between leaves it behind, and
 * whoever next holds the volume's lock runs those post hooks before anything else.
 */
export class PendingHooks {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async get(volume: VolumeRef): Promise<PendingPost | undefined> {
    return decodePending(await this.redis.get(this.key(volume)));
  }

  /** {@link get}, made by the script that takes the volume's lock. */
  lockedRead(volume: VolumeRef): LockedRead<PendingPost | undefined> {
    return { command: 'GET', key: this.key(volume), decode: decodePending };
  }

  async set(volume: VolumeRef, pending: PendingPost): Promise<void> {
    await this.redis.set(this.key(volume), JSON.stringify(pending), 'EX', TTL_SECONDS);
  }

  async clear(volume: VolumeRef): Promise<void> {
    await this.redis.del(this.key(volume));
  }

  private key(volume: VolumeRef): string {
    return `${this.prefix}:hooks:pending:${volume.namespace}/${volume.name}`;
  }
}

function decodePending(raw: unknown): PendingPost | undefined {
  return typeof raw === 'string' ? (JSON.parse(raw) as PendingPost) : undefined;
}
