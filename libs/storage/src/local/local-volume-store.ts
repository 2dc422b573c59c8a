import { readdir } from 'node:fs/promises';
import type { Volume, VolumeRef } from '../snapshot-driver.js';
import { isDnsLabel } from '../shared/names.js';
import { unlessMissing } from './fs-util.js';
import type { LocalLayout } from './local-layout.js';
import { treeBytes } from './tree.js';
import { fingerprintOf, type VolumeIdentities } from './volume-identity.js';
import { readVolumeMeta } from './volume-meta.js';

/**
 * Volumes of the local driver: the directories `<dataDir>/volumes/<name>/` whose name is a
 * DNS-1123 label (hidden entries, files and other names are not volumes). A name is unique
 * across namespaces, because there is one directory per name.
 */
export class LocalVolumeStore {
  constructor(
    private readonly layout: LocalLayout,
    private readonly identities: VolumeIdentities,
  ) {}

  async list(namespace?: string): Promise<Volume[]> {
    const entries = await unlessMissing(() =>
      readdir(this.layout.volumesDir, { withFileTypes: true }),
    );
    const names = (entries ?? [])
      .filter((e) => e.isDirectory() && isDnsLabel(e.name))
      .map((e) => e.name)
      .sort();
    const volumes = await Promise.all(names.map((name) => this.byName(name)));
    return volumes.filter(
      (v): v is Volume => v !== undefined && (namespace === undefined || v.namespace === namespace),
    );
  }

  /** The volume, or undefined when it does not exist or lives in another namespace. */
  async get(ref: VolumeRef): Promise<Volume | undefined> {
    const volume = await this.byName(ref.name);
    return volume?.namespace === ref.namespace ? volume : undefined;
  }

  /** The volume of that name, whatever its namespace. */
  async byName(name: string): Promise<Volume | undefined> {
    if (!isDnsLabel(name)) return undefined;
    const dir = this.layout.volumeDir(name);
    const fingerprint = await fingerprintOf(dir);
    if (fingerprint === undefined) return undefined;
    const volume = await this.describe(name, fingerprint);
    return { ...volume, sizeBytes: await treeBytes(dir) };
  }

  /**
   * The volume whose directory has `fingerprint`, without its size (a walk of the whole tree):
   * its namespace and labels from `<name>.volume.yaml`, its uid. Throws `MalformedFileError`
   * for a metadata file that is not valid.
   */
  async describe(name: string, fingerprint: string): Promise<Volume> {
    const meta = await readVolumeMeta(this.layout.volumeMetaFile(name));
    const uid = await this.identities.resolve(name, fingerprint);
    return { namespace: meta.namespace, name, uid, labels: meta.labels, phase: 'Bound' };
  }
}
