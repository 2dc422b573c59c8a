import { randomUUID } from 'node:crypto';
import {
  DriverError,
  SnapshotConflictError,
  SnapshotLimitError,
  VolumeNotFoundError,
} from '../errors.js';
import type { CreateSnapshotInput, CreateSnapshotResult, Volume } from '../snapshot-driver.js';
import { asError } from '../shared/as-error.js';
import type { KeyedMutex } from '../shared/keyed-mutex.js';
import { assertDnsLabel, assertDnsSubdomain } from '../shared/names.js';
import type { LocalVolumeStore } from './local-volume-store.js';
import { toSnapshot, withoutBuilder, type SnapshotManifest } from './manifest.js';
import type { ManifestStore } from './manifest-store.js';
import { TakenOverError, type SnapshotBuilder } from './snapshot-builder.js';

export interface SnapshotCreatorDeps {
  volumes: LocalVolumeStore;
  manifests: ManifestStore;
  builder: SnapshotBuilder;
  mutex: KeyedMutex;
  clock: () => Date;
  maxSnapshotsPerVolume: number;
}

/** The lock key of a local volume (names are unique across namespaces). */
export function volumeKey(name: string): string {
  return `volume:${name}`;
}

/**
 * `createSnapshot` of the local driver, idempotent by name. A new snapshot's manifest is
 * written first, as Creating, so it counts toward the cap while the archive is built; the
 * cap check and that write happen under the volume's lock of this process.
 */
export class SnapshotCreator {
  constructor(private readonly deps: SnapshotCreatorDeps) {}

  async create(input: CreateSnapshotInput): Promise<CreateSnapshotResult> {
    assertDnsLabel(input.volume.namespace, 'volume.namespace');
    assertDnsSubdomain(input.name, 'name');
    const volume = await this.deps.volumes.get(input.volume);
    if (!volume) {
      throw new VolumeNotFoundError(
        `volume ${input.volume.namespace}/${input.volume.name} does not exist`,
      );
    }
    return this.deps.mutex.run(volumeKey(volume.name), () => this.createLocked(input, volume));
  }

  /**
   * Builds an orphaned Creating snapshot (its builder died) in the background, so a caller
   * that only waits for it still sees it become Ready (or Failed, with the reason).
   */
  resumeInBackground(manifest: SnapshotManifest): Promise<void> {
    return this.deps.mutex
      .run(volumeKey(manifest.volumeName), () => this.resumeLocked(manifest))
      .catch((error: unknown) => this.markFailed(manifest, error));
  }

  private async createLocked(
    input: CreateSnapshotInput,
    volume: Volume,
  ): Promise<CreateSnapshotResult> {
    const { manifests } = this.deps;
    const existing = await manifests.read(input.volume.namespace, input.name);
    if (existing) return this.takeOver(existing, volume);
    await this.checkCap(volume);
    const manifest = this.newManifest(input, volume);
    // Lost a race with another process writing the same name: take over what it wrote.
    if (!(await manifests.create(manifest))) return this.createLocked(input, volume);
    return {
      snapshot: toSnapshot(await this.buildOrDiscard(manifest, volume, true)),
      adopted: false,
    };
  }

  private async takeOver(
    existing: SnapshotManifest,
    volume: Volume,
  ): Promise<CreateSnapshotResult> {
    if (existing.volumeName !== volume.name || existing.volumeUid !== volume.uid) {
      throw new SnapshotConflictError(
        `snapshot ${existing.namespace}/${existing.name} belongs to volume ${existing.volumeName} ` +
          `(uid ${existing.volumeUid}), not to ${volume.name} (uid ${volume.uid})`,
      );
    }
    if (!this.deps.builder.isOrphan(existing)) {
      return { snapshot: toSnapshot(existing), adopted: true };
    }
    return {
      snapshot: toSnapshot(await this.buildOrDiscard(existing, volume, false)),
      adopted: false,
    };
  }

  private async checkCap(volume: Volume): Promise<void> {
    const held = (await this.deps.manifests.listForVolume(volume)).length;
    const cap = this.deps.maxSnapshotsPerVolume;
    if (held >= cap) {
      throw new SnapshotLimitError(
        `volume ${volume.namespace}/${volume.name} holds ${held} snapshots; the cap is ${cap}`,
      );
    }
  }

  private newManifest(input: CreateSnapshotInput, volume: Volume): SnapshotManifest {
    return {
      version: 1,
      name: input.name,
      namespace: volume.namespace,
      uid: randomUUID(),
      volumeName: volume.name,
      volumeUid: volume.uid,
      createdAt: this.deps.clock().toISOString(),
      state: 'Creating',
      labels: { ...input.labels },
      builder: this.deps.builder.newLease(),
    };
  }

  /**
   * The caller gets the error. After a transient one the half-made snapshot is removed, so a
   * retry builds it afresh; after a final one (a stall, a permission error) it stays, Failed
   * with the reason, where everyone sees it until cleanup removes it after its grace period.
   */
  private async buildOrDiscard(manifest: SnapshotManifest, volume: Volume, fresh: boolean) {
    try {
      return await this.deps.builder.build(manifest, volume, fresh);
    } catch (error) {
      if (error instanceof TakenOverError) throw error;
      const transient = !(error instanceof DriverError) || error.transient;
      if (transient) {
        await this.deps.manifests.remove(manifest.namespace, manifest.name).catch(() => undefined);
      } else await this.markFailed(manifest, error);
      throw error;
    }
  }

  private async resumeLocked(manifest: SnapshotManifest): Promise<void> {
    const { manifests, volumes, builder } = this.deps;
    const fresh = await manifests.read(manifest.namespace, manifest.name);
    if (!fresh || !builder.isOrphan(fresh)) return;
    const volume = await volumes.get({ namespace: fresh.namespace, name: fresh.volumeName });
    if (volume?.uid !== fresh.volumeUid) {
      await this.markFailed(fresh, new Error(`source volume ${fresh.volumeName} no longer exists`));
      return;
    }
    await builder.build(fresh, volume, false);
  }

  /** Best effort: a manifest deleted meanwhile stays deleted. */
  private async markFailed(manifest: SnapshotManifest, error: unknown): Promise<void> {
    const { manifests } = this.deps;
    const { message } = asError(error);
    try {
      const fresh = await manifests.read(manifest.namespace, manifest.name);
      if (fresh?.state !== 'Creating') return;
      await manifests.write({ ...withoutBuilder(fresh), state: 'Failed', error: message });
    } catch {
      // Nothing to report to: the next waiter sees the snapshot still Creating and retries.
    }
  }
}
