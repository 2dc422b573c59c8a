import { EventRecorder } from './events.js';
import type { FaultInjector } from './faults.js';
import { type FakeStorageProvider, ProviderError } from './provider.js';
import type { Controller } from './server.js';
import type { SimStore } from './sim-store.js';
import {
  CLASS_KEY,
  MAX_SNAPSHOTS_ANNOTATION,
  SNAPSHOT_FINALIZERS,
  SnapshotObjects,
  VS_KEY,
  VSC_KEY,
} from './snapshot-objects.js';
import { getPath, getString, isRecord, type KubeObject, rfc3339 } from './types.js';
import { WorkQueue } from './work-queue.js';

/** Options of {@link CsiSnapshotter}. */
export interface CsiSnapshotterOptions {
  readyDelayMs: number;
}

function nanos(date: Date): number {
  return date.getTime() * 1e6;
}

/**
 * The CSI snapshotter sidecar over {@link FakeStorageProvider}: takes the provider snapshot of a
 * dynamic VolumeSnapshotContent (reporting the provider's errors, e.g. the per-disk cap, in
 * `status.error`), marks it ready after a delay, imports pre-provisioned snapshots by handle, and
 * deletes provider snapshots of contents with `deletionPolicy: Delete`. Failed contents are retried
 * whenever a content goes away (a slot may have freed up).
 */
export class CsiSnapshotter implements Controller {
  private readonly contents = new WorkQueue((name) => this.syncContent(name));
  private readonly readiness = new WorkQueue((name) => this.markReady(name));
  private readonly objects: SnapshotObjects;
  private readonly events: EventRecorder;
  private unsubscribe: (() => void) | undefined;

  constructor(
    store: SimStore,
    private readonly provider: FakeStorageProvider,
    private readonly faults: FaultInjector,
    private readonly options: CsiSnapshotterOptions,
  ) {
    this.objects = new SnapshotObjects(store);
    this.events = new EventRecorder(store, 'csi-snapshotter');
  }

  /** Starts watching contents. */
  start(): void {
    this.unsubscribe = this.objects.store.objects.subscribe(VSC_KEY, (event) => {
      if (event.type === 'DELETED') this.retryFailedContents();
      else this.contents.add(event.object.metadata.name ?? '');
    });
  }

  /** Stops the sidecar and drops pending work. */
  stop(): void {
    this.unsubscribe?.();
    this.contents.stop();
    this.readiness.stop();
  }

  /** Re-examines every content (e.g. after `faults.unstick`). */
  resync(): void {
    this.objects.all(VSC_KEY).forEach((c) => this.contents.add(c.metadata.name ?? ''));
  }

  private retryFailedContents(): void {
    for (const content of this.objects.all(VSC_KEY)) {
      if (
        getPath(content, ['status', 'error']) &&
        !getString(content, ['status', 'snapshotHandle'])
      ) {
        this.contents.add(content.metadata.name ?? '');
      }
    }
  }

  private syncContent(name: string): void {
    const content = this.objects.get(VSC_KEY, undefined, name);
    if (!content) return;
    if (content.metadata.deletionTimestamp) {
      this.finalizeContent(content);
      return;
    }
    if (this.needsBoundFinalizer(content)) {
      const finalizers = [...(content.metadata.finalizers ?? []), SNAPSHOT_FINALIZERS.content];
      this.objects.store.mergeInto(content, { metadata: { finalizers } });
      return;
    }
    if (getString(content, ['status', 'snapshotHandle'])) return;
    const imported = getString(content, ['spec', 'source', 'snapshotHandle']);
    if (imported) this.importSnapshot(content, imported);
    else this.takeSnapshot(content);
  }

  /** A content bound to a live snapshot carries the bound-protection finalizer. */
  private needsBoundFinalizer(content: KubeObject): boolean {
    if ((content.metadata.finalizers ?? []).includes(SNAPSHOT_FINALIZERS.content)) return false;
    const uid = getString(content, ['spec', 'volumeSnapshotRef', 'uid']);
    const ns = getString(content, ['spec', 'volumeSnapshotRef', 'namespace']);
    const snapshot = this.objects.get(
      VS_KEY,
      ns,
      getString(content, ['spec', 'volumeSnapshotRef', 'name']),
    );
    return (
      uid !== undefined && snapshot?.metadata.uid === uid && !snapshot.metadata.deletionTimestamp
    );
  }

  private takeSnapshot(content: KubeObject): void {
    const volumeHandle = getString(content, ['spec', 'source', 'volumeHandle']) ?? '';
    const snapshotClass = this.objects.get(
      CLASS_KEY,
      undefined,
      getString(content, ['spec', 'volumeSnapshotClassName']),
    );
    const capText = snapshotClass?.metadata.annotations?.[MAX_SNAPSHOTS_ANNOTATION];
    const cap = capText !== undefined && /^\d+$/.test(capText) ? Number(capText) : undefined;
    try {
      const snapshot = this.provider.createSnapshot(volumeHandle, cap);
      this.objects.writeStatus(content, {
        snapshotHandle: snapshot.handle,
        creationTime: nanos(snapshot.createdAt),
        restoreSize: snapshot.sizeBytes,
        readyToUse: false,
      });
      this.readiness.add(content.metadata.name ?? '', this.options.readyDelayMs);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      const message = `Failed to check and update snapshot content: failed to take snapshot of the volume ${volumeHandle}: "${error.message}"`;
      const previous = getPath(content, ['status', 'error']);
      if (isRecord(previous) && previous.message === message) return;
      this.objects.writeStatus(content, { readyToUse: false, error: { message, time: rfc3339() } });
      this.events.record(content, 'Warning', 'SnapshotCreationFailed', message);
    }
  }

  private markReady(name: string): void {
    const content = this.objects.get(VSC_KEY, undefined, name);
    const handle = getString(content, ['status', 'snapshotHandle']);
    const snapshot = handle ? this.provider.snapshots.get(handle) : undefined;
    if (!content || !snapshot) return;
    snapshot.ready = true;
    this.objects.writeStatus(content, {
      ...(isRecord(content.status) ? content.status : {}),
      readyToUse: true,
    });
  }

  private importSnapshot(content: KubeObject, handle: string): void {
    const known = this.provider.snapshots.get(handle);
    const size = known?.sizeBytes ?? getPath(content, ['status', 'restoreSize']);
    this.objects.writeStatus(content, {
      snapshotHandle: handle,
      readyToUse: true,
      creationTime: nanos(known?.createdAt ?? new Date()),
      ...(typeof size === 'number' ? { restoreSize: size } : {}),
    });
  }

  private finalizeContent(content: KubeObject): void {
    if (this.faults.isStuck(content.metadata.name ?? '')) return;
    const handle =
      getString(content, ['status', 'snapshotHandle']) ??
      getString(content, ['spec', 'source', 'snapshotHandle']);
    if (handle && getString(content, ['spec', 'deletionPolicy']) === 'Delete') {
      this.provider.deleteSnapshot(handle);
      this.retryFailedContents();
    }
    this.objects.dropFinalizers(content, [SNAPSHOT_FINALIZERS.content]);
  }
}
