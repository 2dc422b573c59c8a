import type {
  CreateSnapshotInput,
  CreateSnapshotResult,
  DriverCapabilities,
  RestoreToNewVolumeInput,
  Snapshot,
  SnapshotDriver,
  SnapshotRef,
  Volume,
  VolumeQuery,
  VolumeRef,
} from '../snapshot-driver.js';
import { closedError } from '../shared/abortable.js';
import { assertDnsLabel, assertDnsSubdomain } from '../shared/names.js';
import { checkRestoreNamespace } from '../shared/restore-rules.js';
import { FailureInjector, type MemoryOperation } from './failure-injector.js';
import { pause } from './latency.js';
import type {
  MemoryDriverOptions,
  MemoryDriverStats,
  MemorySnapshotInput,
} from './memory-options.js';
import { checkRollback, requireRecord, restoreVolume } from './memory-restores.js';
import {
  copySnapshot,
  copyVolume,
  keyOf,
  MemoryStore,
  type MemoryVolumeInput,
} from './memory-store.js';
import { OpTracker } from './op-tracker.js';
import { waitForReady } from './ready-waiter.js';
import { SnapshotLifecycle } from './snapshot-lifecycle.js';

export type {
  MemoryDriverOptions,
  MemoryDriverStats,
  MemoryOperation,
  MemorySnapshotInput,
  MemoryVolumeInput,
};

/**
 * In-process driver for tests and benchmarks: same contract, idempotency and cap refusal as
 * the real drivers, configurable latency, injectable failures, no bytes stored. It does not
 * serialise operations; it counts how many overlap per volume, so a test can prove that the
 * engine keeps at most one operation in flight per volume (invariant 4).
 */
export class MemoryDriver implements SnapshotDriver {
  readonly name = 'memory';
  private readonly store = new MemoryStore();
  private readonly ops = new OpTracker();
  private readonly failures = new FailureInjector();
  private readonly closing = new AbortController();
  private readonly lifecycle: SnapshotLifecycle;

  constructor(private readonly options: MemoryDriverOptions = {}) {
    this.lifecycle = new SnapshotLifecycle(this.store, this.failures, options);
  }

  /** Adds a volume (namespace `default`, Bound, 1 GiB, ReadWriteOnce unless given). */
  addVolume(input: MemoryVolumeInput): Volume {
    return this.store.addVolume(input);
  }

  /** Removes a volume; its snapshots stay (as VolumeSnapshots outlive their claim). */
  removeVolume(ref: VolumeRef): boolean {
    return this.store.removeVolume(ref);
  }

  /** Replaces a volume's labels (as `kubectl label --overwrite` would); false when missing. */
  relabelVolume(ref: VolumeRef, labels: Record<string, string>): boolean {
    return this.store.relabelVolume(ref, labels) !== undefined;
  }

  /** Seeds a snapshot directly, bypassing the cap (others' snapshots do not ask for slots). */
  addSnapshot(input: MemorySnapshotInput): Snapshot {
    return this.lifecycle.seed(input);
  }

  /**
   * The next `times` calls of `op` fail with `error`; for `ready`, the next `times` snapshots
   * that would become Ready turn Failed with the error's message instead.
   */
  injectFailure(op: MemoryOperation, error: Error, times = 1): void {
    this.failures.inject(op, error, times);
  }

  stats(): MemoryDriverStats {
    return {
      ...this.lifecycle.counts,
      maxConcurrentOpsPerVolume: this.ops.maxPerVolume,
      currentOps: this.ops.currentOps,
    };
  }

  capabilities(): Promise<DriverCapabilities> {
    return Promise.resolve({
      maxSnapshotsPerVolume: this.lifecycle.maxSnapshotsPerVolume,
      rollback: true,
      restoreToNewVolume: true,
      oneInFlightPerVolume: true,
    });
  }

  listVolumes(namespace?: string): Promise<Volume[]> {
    return this.listing(() => this.store.listVolumes(namespace));
  }

  /** Answered from the store's volume index, updated on every add, relabel and removal. */
  findVolumes(query: VolumeQuery): Promise<Volume[]> {
    return this.listing(() => this.store.findVolumes(query));
  }

  getVolume(ref: VolumeRef): Promise<Volume | undefined> {
    return settle(() => {
      const volume = this.store.volume(ref);
      return volume && copyVolume(volume);
    });
  }

  listSnapshots(volume: VolumeRef): Promise<Snapshot[]> {
    return this.listing(() => this.store.snapshotsOf(volume));
  }

  listAllSnapshots(namespace?: string): Promise<Snapshot[]> {
    return this.listing(() =>
      this.store.listSnapshots((s) => namespace === undefined || s.namespace === namespace),
    );
  }

  getSnapshot(ref: SnapshotRef): Promise<Snapshot | undefined> {
    return settle(() => {
      const record = this.store.record(ref);
      return record && copySnapshot(record.snapshot);
    });
  }

  async createSnapshot(input: CreateSnapshotInput): Promise<CreateSnapshotResult> {
    assertDnsLabel(input.volume.namespace, 'volume.namespace');
    assertDnsSubdomain(input.name, 'name');
    return this.ops.run(keyOf(input.volume), async () => {
      await pause(this.options.createLatencyMs ?? 0);
      this.failures.throwIfInjected('create');
      return this.lifecycle.create(input);
    });
  }

  /** Resolves on the snapshot's change events (no polling); see the interface contract. */
  waitUntilReady(ref: SnapshotRef, timeoutMs: number, signal?: AbortSignal): Promise<Snapshot> {
    const read = () => this.store.record(ref)?.snapshot;
    return waitForReady(this.store.changes, read, ref, timeoutMs, [signal, this.closing.signal]);
  }

  /** Marks the snapshot Terminating at once, and removes it after `deleteLatencyMs`. */
  async deleteSnapshot(ref: SnapshotRef): Promise<void> {
    const record = this.store.record(ref);
    const volumeKey =
      record && keyOf({ namespace: ref.namespace, name: record.snapshot.volumeName });
    await this.ops.run(volumeKey, async () => {
      this.failures.throwIfInjected('delete');
      const current = this.store.record(ref);
      if (!current) return pause(0);
      this.lifecycle.markTerminating(current);
      await pause(this.options.deleteLatencyMs ?? 0);
      if (this.store.record(ref) !== current) return;
      this.store.delete(ref);
      this.lifecycle.counts.deletes++;
    });
  }

  async restoreToNewVolume(input: RestoreToNewVolumeInput): Promise<Volume> {
    checkRestoreNamespace(input);
    assertDnsLabel(input.target.name, 'target.name');
    const { snapshot } = requireRecord(this.store, input.snapshot);
    const volumeKey = keyOf({ namespace: input.snapshot.namespace, name: snapshot.volumeName });
    return this.ops.run(volumeKey, async () => {
      await pause(this.options.createLatencyMs ?? 0);
      this.failures.throwIfInjected('restore');
      return restoreVolume(this.store, input);
    });
  }

  async rollback(ref: SnapshotRef): Promise<void> {
    const { snapshot } = requireRecord(this.store, ref);
    const volumeKey = keyOf({ namespace: ref.namespace, name: snapshot.volumeName });
    await this.ops.run(volumeKey, async () => {
      await pause(this.options.createLatencyMs ?? 0);
      this.failures.throwIfInjected('rollback');
      checkRollback(this.store, ref);
    });
  }

  /** Cancels readiness timers; pending waiters reject. */
  close(): Promise<void> {
    this.closing.abort(closedError(this.name));
    this.store.clearTimers();
    return Promise.resolve();
  }

  private listing<T>(fn: () => T): Promise<T> {
    return settle(() => {
      this.failures.throwIfInjected('list');
      return fn();
    });
  }
}

/** Runs `fn` as a promise: its throw becomes a rejection, as from a real (async) provider. */
function settle<T>(fn: () => T): Promise<T> {
  return Promise.resolve().then(fn);
}
