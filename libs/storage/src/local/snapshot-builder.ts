import { rename } from 'node:fs/promises';
import type { Volume } from '../snapshot-driver.js';
import { readArchiveContent, writeArchive } from './archive.js';
import { fsyncFile, isProcessAlive, tempPathFor } from './fs-util.js';
import type { LocalLayout } from './local-layout.js';
import { withoutBuilder, type SnapshotManifest } from './manifest.js';
import type { ManifestStore } from './manifest-store.js';
import { holdingOrRemove } from './temp-registry.js';

// Process-wide for the same reason as the temp registry: several driver instances of one
// process must agree on which Creating snapshots are being built right now.
const building = new Map<string, Promise<SnapshotManifest>>();

/**
 * Turns a Creating manifest into a Ready one: archives the volume under a temporary name,
 * reads the archive back for its checksums, renames it into place, then commits the Ready
 * manifest. Until that last write the snapshot stays Creating, so a crash anywhere leaves a
 * Creating manifest whose builder is gone: an orphan, which the next caller builds again.
 */
export class SnapshotBuilder {
  constructor(
    private readonly layout: LocalLayout,
    private readonly manifests: ManifestStore,
    private readonly clock: () => Date,
  ) {}

  /** Builds the snapshot, or joins the build of it already running in this process. */
  build(manifest: SnapshotManifest, volume: Volume): Promise<SnapshotManifest> {
    const key = this.keyOf(manifest);
    const running = building.get(key);
    if (running) return running;
    const job = this.run(manifest, volume).finally(() => building.delete(key));
    building.set(key, job);
    return job;
  }

  /** True for a Creating manifest that no live process is building. */
  isOrphan(manifest: SnapshotManifest): boolean {
    if (manifest.state !== 'Creating') return false;
    const pid = manifest.builderPid;
    if (pid === undefined) return true;
    if (pid === process.pid) return !building.has(this.keyOf(manifest));
    return !isProcessAlive(pid);
  }

  private async run(manifest: SnapshotManifest, volume: Volume): Promise<SnapshotManifest> {
    const claimed: SnapshotManifest = { ...manifest, builderPid: process.pid };
    if (manifest.builderPid !== process.pid) await this.manifests.write(claimed);
    const createdAt = this.clock().toISOString();
    const archive = this.layout.archiveFile(manifest.namespace, manifest.name);
    const temp = tempPathFor(archive);
    const content = await holdingOrRemove(temp, async () => {
      await writeArchive(this.layout.volumeDir(volume.name), temp);
      const read = await readArchiveContent(temp);
      await fsyncFile(temp);
      await rename(temp, archive);
      return read;
    });
    const ready: SnapshotManifest = {
      ...withoutBuilder(claimed),
      ...content,
      state: 'Ready',
      createdAt,
    };
    await this.manifests.write(ready);
    return ready;
  }

  private keyOf(manifest: SnapshotManifest): string {
    return `${this.layout.dataDir}\0${manifest.namespace}\0${manifest.name}`;
  }
}
