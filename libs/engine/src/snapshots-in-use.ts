import type { Redis } from 'ioredis';
import type { VolumeRef } from '#lib/storage';
import type { SnapshotProtection } from './engine-deps.js';
import type { LockedRead } from './volume-lock.js';

/**
 * Snapshots a restore is reading, per namespace, in a Redis set: rotation and cleanup leave
 * them alone until the restore ends (invariant 2). Members are `<name>|<owner>` so that two
 * restores of one snapshot protect it until both have ended.
 */
export class SnapshotsInUse implements SnapshotProtection {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Marks `snapshot` as in use by `owner` (a restore's key). */
  async add(namespace: string, snapshot: string, owner: string): Promise<void> {
    await this.redis.sadd(this.key(namespace), `${snapshot}|${owner}`);
  }

  /** Ends `owner`'s use of `snapshot`. */
  async remove(namespace: string, snapshot: string, owner: string): Promise<void> {
    await this.redis.srem(this.key(namespace), `${snapshot}|${owner}`);
  }

  /** Names of the snapshots of `volume`'s namespace that something is reading. */
  async protectedSnapshots(volume: VolumeRef): Promise<ReadonlySet<string>> {
    return this.inNamespace(volume.namespace);
  }

  /** {@link protectedSnapshots}, made by the script that takes the volume's lock. */
  lockedRead(volume: VolumeRef): LockedRead<ReadonlySet<string>> {
    return { command: 'SMEMBERS', key: this.key(volume.namespace), decode: snapshotNames };
  }

  /** Names of the snapshots of a namespace that something is reading. */
  async inNamespace(namespace: string): Promise<ReadonlySet<string>> {
    return snapshotNames(await this.redis.smembers(this.key(namespace)));
  }

  private key(namespace: string): string {
    return `${this.prefix}:in-use:${namespace}`;
  }
}

/** The snapshot names of `<name>|<owner>` members. */
function snapshotNames(members: unknown): ReadonlySet<string> {
  const names = Array.isArray(members) ? (members as string[]) : [];
  return new Set(names.map((m) => m.slice(0, m.lastIndexOf('|'))));
}
