import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidRequestError, SnapshotNotFoundError, VolumeNotFoundError } from '../errors.js';
import type {
  OperationReport,
  RestoreToNewVolumeInput,
  SnapshotRef,
  Volume,
} from '../snapshot-driver.js';
import type { KeyedMutex } from '../shared/keyed-mutex.js';
import { assertDnsLabel } from '../shared/names.js';
import {
  checkRestoreNamespace,
  checkRestoreRules,
  RESTORED_FROM_LABEL,
  targetExistsError,
} from '../shared/restore-rules.js';
import { errorCode, isDirectory, remove, unlessMissing } from './fs-util.js';
import type { Leftovers } from './leftovers.js';
import { restoreTempName, rollbackNewName, rollbackOldName } from './leftovers.js';
import type { LocalLayout } from './local-layout.js';
import type { LocalVolumeStore } from './local-volume-store.js';
import { toSnapshot, type SnapshotManifest } from './manifest.js';
import type { ManifestStore } from './manifest-store.js';
import { materialize, type ExtractSettings } from './materialize.js';
import type { OperationJournal } from './operation-journal.js';
import { volumeKey } from './snapshot-creator.js';
import { holding, holdingOrRemove } from './temp-registry.js';
import { fingerprintOf, type VolumeIdentities } from './volume-identity.js';
import { writeVolumeMeta } from './volume-meta.js';

export interface LocalRestorerDeps {
  layout: LocalLayout;
  manifests: ManifestStore;
  volumes: LocalVolumeStore;
  identities: VolumeIdentities;
  leftovers: Leftovers;
  mutex: KeyedMutex;
  settings: ExtractSettings;
  journal: OperationJournal;
}

/**
 * Restore and rollback of the local driver. Both extract into a hidden directory beside the
 * volumes and verify every entry against the manifest before anything becomes visible, so a
 * failure leaves no trace (invariant 7: the result is the snapshotted bytes or nothing).
 */
export class LocalRestorer {
  constructor(private readonly deps: LocalRestorerDeps) {}

  /**
   * New volume `target.name` with the snapshot's data, in the snapshot's namespace and labelled
   * `snapwarden.io/restored-from: <snapshot>`. It appears by one rename of a verified directory.
   */
  async restoreToNewVolume(input: RestoreToNewVolumeInput): Promise<Volume & OperationReport> {
    checkRestoreNamespace(input);
    assertDnsLabel(input.target.name, 'target.name');
    const manifest = await this.requireManifest(input.snapshot);
    await this.deps.leftovers.recoverVolumes();
    return this.deps.mutex.run(volumeKey(input.target.name), async () => {
      if (await isDirectory(this.deps.layout.volumeDir(input.target.name))) {
        throw targetExistsError(input);
      }
      checkRestoreRules(input, { snapshot: toSnapshot(manifest) });
      const snapshot = `${manifest.namespace}/${manifest.name}`;
      const { interrupted } = await this.deps.journal.around(
        input.target.name,
        { operation: 'restore', snapshot },
        () => this.materializeAndPublish(input, manifest),
      );
      const volume = await this.deps.volumes.byName(input.target.name);
      if (!volume) throw new Error(`restored volume ${input.target.name} vanished`);
      if (interrupted) return { ...volume, interrupted };
      return volume;
    });
  }

  /**
   * Replaces the source volume's contents with the snapshot's. The swap is two renames
   * (volume → `.<name>.rollback-old-*`, verified copy → volume); a crash between them leaves
   * the volume missing and the old directory beside it, which `Leftovers.recover` renames back
   * on the next call or start. The volume keeps its uid.
   */
  async rollback(ref: SnapshotRef): Promise<OperationReport> {
    const manifest = await this.requireManifest(ref);
    if (manifest.state !== 'Ready') {
      throw new InvalidRequestError(
        `snapshot ${ref.namespace}/${ref.name} is ${manifest.state}`,
        'snapshot',
      );
    }
    await this.deps.leftovers.recoverVolumes();
    const name = manifest.volumeName;
    return this.deps.mutex.run(volumeKey(name), async () => {
      await this.requireSource(manifest);
      const fresh = join(this.deps.layout.volumesDir, rollbackNewName(name));
      const snapshot = `${manifest.namespace}/${manifest.name}`;
      const { interrupted } = await this.deps.journal.around(
        name,
        { operation: 'rollback', snapshot },
        () =>
          holdingOrRemove(fresh, async () => {
            await materialize(manifest, this.archiveOf(manifest), fresh, this.deps.settings);
            await this.swap(name, fresh);
          }),
      );
      return interrupted ? { interrupted } : {};
    });
  }

  private async materializeAndPublish(input: RestoreToNewVolumeInput, manifest: SnapshotManifest) {
    const { layout } = this.deps;
    await mkdir(layout.volumesDir, { recursive: true });
    const temp = join(layout.volumesDir, restoreTempName());
    await holdingOrRemove(temp, async () => {
      await materialize(manifest, this.archiveOf(manifest), temp, this.deps.settings);
      await this.publish(input, temp);
    });
  }

  /** Labels first, then the directory: a volume never appears without its namespace. */
  private async publish(input: RestoreToNewVolumeInput, temp: string): Promise<void> {
    const { layout } = this.deps;
    const metaFile = layout.volumeMetaFile(input.target.name);
    const previous = await unlessMissing(() => readFile(metaFile));
    await writeVolumeMeta(metaFile, {
      namespace: input.target.namespace,
      labels: { [RESTORED_FROM_LABEL]: input.snapshot.name },
    });
    try {
      await rename(temp, layout.volumeDir(input.target.name));
    } catch (error) {
      if (previous) await writeFile(metaFile, previous);
      else await rm(metaFile, { force: true });
      const code = errorCode(error);
      const taken = code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR';
      throw taken ? targetExistsError(input) : error;
    }
  }

  private async swap(name: string, fresh: string): Promise<void> {
    const { layout, identities } = this.deps;
    const volumeDir = layout.volumeDir(name);
    const fingerprint = await fingerprintOf(fresh);
    if (fingerprint === undefined) throw new Error(`rollback copy ${fresh} vanished`);
    // Registered before the swap, so the uid holds whichever directory a crash leaves in place.
    await identities.addFingerprint(name, fingerprint);
    const old = join(layout.volumesDir, rollbackOldName(name));
    await holding(old, async () => {
      await rename(volumeDir, old);
      try {
        await rename(fresh, volumeDir);
      } catch (error) {
        // If even this fails, Leftovers.recover renames the old directory back later.
        await rename(old, volumeDir).catch(() => undefined);
        throw error;
      }
      await remove(old);
    });
    await identities.keepOnly(name, fingerprint);
  }

  private async requireManifest(ref: SnapshotRef): Promise<SnapshotManifest> {
    const manifest = await this.deps.manifests.read(ref.namespace, ref.name);
    if (!manifest)
      throw new SnapshotNotFoundError(`snapshot ${ref.namespace}/${ref.name} does not exist`);
    return manifest;
  }

  private async requireSource(manifest: SnapshotManifest): Promise<Volume> {
    const volume = await this.deps.volumes.get({
      namespace: manifest.namespace,
      name: manifest.volumeName,
    });
    if (!volume) {
      throw new VolumeNotFoundError(
        `volume ${manifest.namespace}/${manifest.volumeName} of snapshot ${manifest.name} does not exist`,
      );
    }
    if (volume.uid !== manifest.volumeUid) {
      throw new InvalidRequestError(
        `snapshot ${manifest.name} was taken of an earlier volume named ${manifest.volumeName}`,
        'snapshot',
      );
    }
    return volume;
  }

  private archiveOf(manifest: SnapshotManifest): string {
    return this.deps.layout.archiveFile(manifest.namespace, manifest.name);
  }
}
