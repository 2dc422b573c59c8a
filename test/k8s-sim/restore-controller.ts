import type { FakeStorageProvider } from './provider.js';
import type { Controller } from './server.js';
import type { SimStore } from './sim-store.js';
import { getString, type KubeObject } from './types.js';
import { WorkQueue } from './work-queue.js';

const LVSR_KEY = 'localvolumesnapshotrestores.hwameistor.io';
const VSC_KEY = 'volumesnapshotcontents.snapshot.storage.k8s.io';

/** Options of {@link RestoreController}. */
export interface RestoreControllerOptions {
  restoreDelayMs: number;
}

/**
 * A tiny HwameiStor: a LocalVolumeSnapshotRestore moves `Submitted` → `InProgress` →
 * `Completed` after a delay. `spec.sourceVolumeSnapshot` may name a snapshot handle or a
 * VolumeSnapshotContent; an unknown source ends in `Failed`. A `rollback` is recorded on the
 * provider disk (`rolledBackTo`).
 */
export class RestoreController implements Controller {
  private readonly queue = new WorkQueue((name) => this.sync(name));
  private readonly finisher = new WorkQueue((name) => this.finish(name));
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: SimStore,
    private readonly provider: FakeStorageProvider,
    private readonly options: RestoreControllerOptions,
  ) {}

  /** Starts watching restores. */
  start(): void {
    this.unsubscribe = this.store.objects.subscribe(LVSR_KEY, (event) => {
      if (event.type !== 'DELETED') this.queue.add(event.object.metadata.name ?? '');
    });
  }

  /** Stops the controller. */
  stop(): void {
    this.unsubscribe?.();
    this.queue.stop();
    this.finisher.stop();
  }

  private restore(name: string): KubeObject | undefined {
    return this.store.objects.get(LVSR_KEY, undefined, name);
  }

  private sync(name: string): void {
    const restore = this.restore(name);
    if (!restore || restore.metadata.deletionTimestamp) return;
    const state = getString(restore, ['status', 'state']);
    if (state === undefined) {
      this.store.writeStatus(restore, { state: 'Submitted' });
      return;
    }
    if (state === 'Submitted') {
      this.store.writeStatus(restore, { state: 'InProgress' });
      this.finisher.add(name, this.options.restoreDelayMs);
    }
  }

  private snapshotHandle(source: string): string | undefined {
    if (this.provider.snapshots.has(source)) return source;
    const content = this.store.objects.get(VSC_KEY, undefined, source);
    return getString(content, ['status', 'snapshotHandle']);
  }

  private finish(name: string): void {
    const restore = this.restore(name);
    if (!restore || getString(restore, ['status', 'state']) !== 'InProgress') return;
    const source = getString(restore, ['spec', 'sourceVolumeSnapshot']) ?? '';
    const handle = this.snapshotHandle(source);
    if (!handle || !this.provider.snapshots.has(handle)) {
      this.store.writeStatus(restore, {
        state: 'Failed',
        message: `source volume snapshot ${source} not found`,
      });
      return;
    }
    if (getString(restore, ['spec', 'restoreType']) === 'rollback') this.provider.rollback(handle);
    this.store.writeStatus(restore, { state: 'Completed' });
  }
}
