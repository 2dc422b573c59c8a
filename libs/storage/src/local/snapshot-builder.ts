import { randomUUID } from 'node:crypto';
import { rename } from 'node:fs/promises';
import { ArchiveError } from '../errors.js';
import type { Volume } from '../snapshot-driver.js';
import type { FaultInjector } from './archive/archive-job.js';
import { runArchiveJob } from './archive/archive-runner.js';
import { tempPathFor } from './fs-util.js';
import type { LocalLayout } from './local-layout.js';
import { withoutBuilder, type BuilderLease, type SnapshotManifest } from './manifest.js';
import type { ManifestStore } from './manifest-store.js';
import { holdingOrRemove } from './temp-registry.js';

// Process-wide for the same reason as the temp registry: several driver instances of one
// process must agree on which Creating snapshots are being built right now.
const building = new Map<string, Promise<SnapshotManifest>>();

/** The build lost its lease to another builder: the manifest is theirs, not to be touched. */
export class TakenOverError extends ArchiveError {
  constructor(message: string) {
    super(message, true);
  }
}

/** How archives are built: the watchdog's bound, the builder's heartbeat, injected faults. */
export interface BuildSettings {
  stallMs: number;
  /** The builder renews its lease this often; three missed renewals mean it is gone. */
  heartbeatMs: number;
  fault?: FaultInjector;
}

/**
 * Turns a Creating manifest into a Ready one: archives the volume (in a worker thread, under
 * a watchdog) to a temporary name, renames it into place, then commits the Ready manifest
 * with what the archive holds. Until that last write the snapshot stays Creating with the
 * builder's lease, renewed while it works; a crash anywhere leaves a Creating manifest whose
 * lease runs out: an orphan, which the next caller builds again, recording the interruption.
 */
export class SnapshotBuilder {
  constructor(
    private readonly layout: LocalLayout,
    private readonly manifests: ManifestStore,
    private readonly clock: () => Date,
    private readonly settings: BuildSettings,
  ) {}

  /** A fresh lease for a manifest this process is about to build. */
  newLease(): BuilderLease {
    return { token: randomUUID(), heartbeatAt: new Date().toISOString() };
  }

  /**
   * Builds the snapshot, or joins the build of it already running in this process. `fresh`
   * is false when an orphan is taken over: the result then records the interruption.
   */
  build(manifest: SnapshotManifest, volume: Volume, fresh: boolean): Promise<SnapshotManifest> {
    const key = this.keyOf(manifest);
    const running = building.get(key);
    if (running) return running;
    const job = this.run(manifest, volume, fresh).finally(() => building.delete(key));
    building.set(key, job);
    return job;
  }

  /** True for a Creating manifest that nobody is building: no live lease, no build here. */
  isOrphan(manifest: SnapshotManifest): boolean {
    if (manifest.state !== 'Creating' || building.has(this.keyOf(manifest))) return false;
    const beat = Date.parse(manifest.builder?.heartbeatAt ?? '');
    return !(Date.now() - beat < 3 * this.settings.heartbeatMs);
  }

  private async run(
    manifest: SnapshotManifest,
    volume: Volume,
    fresh: boolean,
  ): Promise<SnapshotManifest> {
    const lease = this.newLease();
    const claimed: SnapshotManifest = { ...manifest, builder: lease };
    if (!fresh) {
      claimed.interruption = {
        interruptedAt: manifest.builder?.heartbeatAt ?? manifest.createdAt,
        rebuiltAt: this.clock().toISOString(),
      };
    }
    await this.manifests.write(claimed);
    const heart = new Heartbeat(this.manifests, claimed, this.settings.heartbeatMs);
    const createdAt = this.clock().toISOString();
    const archive = this.layout.archiveFile(manifest.namespace, manifest.name);
    const temp = tempPathFor(archive);
    const packed = await heart.during(() =>
      holdingOrRemove(temp, async () => {
        const label = `snapshot ${manifest.namespace}/${manifest.name}`;
        const root = this.layout.volumeDir(volume.name);
        const fault = this.settings.fault?.('pack');
        const job = { op: 'pack' as const, root, dest: temp, ...(fault ? { fault } : {}) };
        const result = await runArchiveJob(job, { label, stallMs: this.settings.stallMs });
        await rename(temp, archive);
        return result;
      }),
    );
    const latest = await this.manifests.read(manifest.namespace, manifest.name);
    if (latest?.builder?.token !== lease.token) {
      throw new TakenOverError(`snapshot ${manifest.name} was taken over by another builder`);
    }
    const { changedWhileRead, changedCount, ...content } = packed;
    const ready: SnapshotManifest = {
      ...withoutBuilder(claimed),
      ...content,
      capture: { changedWhileRead, changedCount },
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

/** Renews a builder's lease in its manifest while work runs, unless someone took it over. */
class Heartbeat {
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly manifests: ManifestStore,
    private readonly manifest: SnapshotManifest,
    private readonly everyMs: number,
  ) {}

  async during<T>(work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      this.last = this.last.then(() => this.beat());
    }, this.everyMs);
    try {
      return await work();
    } finally {
      clearInterval(timer);
      await this.last;
    }
  }

  private async beat(): Promise<void> {
    const { namespace, name, builder } = this.manifest;
    try {
      const current = await this.manifests.read(namespace, name);
      if (current?.state !== 'Creating' || current.builder?.token !== builder?.token) return;
      const heartbeatAt = new Date().toISOString();
      await this.manifests.write({
        ...current,
        builder: { token: builder?.token ?? '', heartbeatAt },
      });
    } catch {
      // A missed beat is retried at the next one; three in a row hand the build to another.
    }
  }
}
