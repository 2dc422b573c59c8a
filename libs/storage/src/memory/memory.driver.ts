import { randomUUID } from 'node:crypto';
import {
  InvalidRequestError,
  SnapshotConflictError,
  SnapshotLimitError,
  SnapshotNotFoundError,
  SnapshotTimeoutError,
  VolumeNotFoundError,
} from '../errors.js';
import type {
  CreateSnapshotInput,
  CreateSnapshotResult,
  DriverCapabilities,
  RestoreToNewVolumeInput,
  Snapshot,
  SnapshotDriver,
  SnapshotRef,
  SnapshotState,
  Volume,
  VolumeRef,
} from '../snapshot-driver.js';
import { asError } from '../shared/as-error.js';
import { closedError, onAnyAbort, throwIfAnyAborted } from '../shared/abortable.js';
import { assertDnsLabel, assertDnsSubdomain } from '../shared/names.js';
import { notReadyMessage, settledSnapshot } from '../shared/readiness.js';
import {
  checkRestoreNamespace,
  checkRestoreRules,
  RESTORED_FROM_LABEL,
  targetExistsError,
} from '../shared/restore-rules.js';
import { FailureInjector, type MemoryOperation } from './failure-injector.js';
import { pause } from './latency.js';
import {
  copySnapshot,
  copyVolume,
  keyOf,
  MemoryStore,
  type MemoryVolumeInput,
  type SnapshotRecord,
} from './memory-store.js';
import { OpTracker } from './op-tracker.js';

export interface MemoryDriverOptions {
  /** Default 7. */
  maxSnapshotsPerVolume?: number;
  /** Latency of create, restore and rollback calls. Default 0 (one event-loop turn). */
  createLatencyMs?: number;
  /** Time from creation to Ready; 0 makes snapshots Ready at once. Default 0. */
  readyDelayMs?: number;
  /** Time a deleted snapshot stays Terminating before it is gone. Default 0. */
  deleteLatencyMs?: number;
  clock?: () => Date;
}

/** A snapshot to seed: one made by another tool, or stuck Terminating, or Failed. */
export interface MemorySnapshotInput {
  namespace?: string;
  name: string;
  volumeName: string;
  /** Default Ready. */
  state?: SnapshotState;
  labels?: Record<string, string>;
  createdAt?: Date;
  restoreSizeBytes?: number;
  error?: string;
  /** Default: the uid of the volume, when it exists. */
  volumeUid?: string;
}

/** Counters of a memory driver (see `MemoryDriver.stats`). */
export interface MemoryDriverStats {
  /** Snapshots created (not adopted). */
  creates: number;
  /** createSnapshot calls that found the snapshot already there. */
  adopts: number;
  /** Snapshots actually removed. */
  deletes: number;
  /** Most create/delete/restore/rollback calls ever in flight at once on one volume. */
  maxConcurrentOpsPerVolume: number;
  /** Such calls in flight right now, over all volumes. */
  currentOps: number;
}

export type { MemoryOperation, MemoryVolumeInput };

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
  private readonly cap: number;
  private readonly clock: () => Date;
  private counts = { creates: 0, adopts: 0, deletes: 0 };

  constructor(private readonly options: MemoryDriverOptions = {}) {
    this.cap = options.maxSnapshotsPerVolume ?? 7;
    this.clock = options.clock ?? (() => new Date());
  }

  /** Adds a volume (namespace `default`, Bound, 1 GiB, ReadWriteOnce unless given). */
  addVolume(input: MemoryVolumeInput): Volume {
    return this.store.addVolume(input);
  }

  /** Removes a volume; its snapshots stay (as VolumeSnapshots outlive their claim). */
  removeVolume(ref: VolumeRef): boolean {
    return this.store.removeVolume(ref);
  }

  /** Seeds a snapshot directly, bypassing the cap (others' snapshots do not ask for slots). */
  addSnapshot(input: MemorySnapshotInput): Snapshot {
    const namespace = input.namespace ?? 'default';
    if (this.store.record({ namespace, name: input.name })) {
      throw new Error(`snapshot ${namespace}/${input.name} already exists`);
    }
    const volume = this.store.volume({ namespace, name: input.volumeName });
    const state = input.state ?? 'Ready';
    const snapshot: Snapshot = {
      namespace,
      name: input.name,
      uid: randomUUID(),
      volumeName: input.volumeName,
      createdAt: input.createdAt ?? this.clock(),
      state,
      readyToUse: state === 'Ready',
      restoreSizeBytes: input.restoreSizeBytes ?? volume?.sizeBytes,
      labels: { ...input.labels },
    };
    if (input.error !== undefined) snapshot.error = input.error;
    this.store.put({
      ...this.sourceOf(volume),
      volumeUid: input.volumeUid ?? volume?.uid ?? randomUUID(),
      snapshot,
    });
    return copySnapshot(snapshot);
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
      ...this.counts,
      maxConcurrentOpsPerVolume: this.ops.maxPerVolume,
      currentOps: this.ops.currentOps,
    };
  }

  capabilities(): Promise<DriverCapabilities> {
    return Promise.resolve({
      maxSnapshotsPerVolume: this.cap,
      rollback: true,
      restoreToNewVolume: true,
      oneInFlightPerVolume: true,
    });
  }

  listVolumes(namespace?: string): Promise<Volume[]> {
    return this.listing(() => this.store.listVolumes(namespace));
  }

  getVolume(ref: VolumeRef): Promise<Volume | undefined> {
    return settle(() => {
      const volume = this.store.volume(ref);
      return volume && copyVolume(volume);
    });
  }

  listSnapshots(volume: VolumeRef): Promise<Snapshot[]> {
    return this.listing(() =>
      this.store.listSnapshots(
        (s) => s.namespace === volume.namespace && s.volumeName === volume.name,
      ),
    );
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
      return this.createNow(input);
    });
  }

  /** Resolves on the snapshot's change events (no polling); see the interface contract. */
  waitUntilReady(ref: SnapshotRef, timeoutMs: number, signal?: AbortSignal): Promise<Snapshot> {
    return new Promise((resolve, reject) => {
      const signals = [signal, this.closing.signal];
      const check = () => {
        const record = this.store.record(ref);
        const ready = settledSnapshot(record && record.snapshot, ref);
        if (ready) finish(() => resolve(copySnapshot(ready)));
      };
      const onChange = () => {
        try {
          check();
        } catch (error) {
          finish(() => reject(asError(error)));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new SnapshotTimeoutError(notReadyMessage(ref, timeoutMs)))),
        timeoutMs,
      );
      const offAbort = onAnyAbort(signals, (reason) => finish(() => reject(reason)));
      const finish = (settleWith: () => void) => {
        clearTimeout(timer);
        offAbort();
        this.store.changes.off(keyOf(ref), onChange);
        settleWith();
      };
      this.store.changes.on(keyOf(ref), onChange);
      try {
        throwIfAnyAborted(signals);
      } catch (error) {
        finish(() => reject(asError(error)));
        return;
      }
      onChange();
    });
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
      this.markTerminating(current);
      await pause(this.options.deleteLatencyMs ?? 0);
      if (this.store.record(ref) !== current) return;
      this.store.delete(ref);
      this.counts.deletes++;
    });
  }

  async restoreToNewVolume(input: RestoreToNewVolumeInput): Promise<Volume> {
    checkRestoreNamespace(input);
    assertDnsLabel(input.target.name, 'target.name');
    const record = this.requireRecord(input.snapshot);
    const volumeKey = keyOf({
      namespace: input.snapshot.namespace,
      name: record.snapshot.volumeName,
    });
    return this.ops.run(volumeKey, async () => {
      await pause(this.options.createLatencyMs ?? 0);
      this.failures.throwIfInjected('restore');
      return this.restoreNow(input);
    });
  }

  async rollback(ref: SnapshotRef): Promise<void> {
    const record = this.requireRecord(ref);
    const volumeKey = keyOf({ namespace: ref.namespace, name: record.snapshot.volumeName });
    await this.ops.run(volumeKey, async () => {
      await pause(this.options.createLatencyMs ?? 0);
      this.failures.throwIfInjected('rollback');
      this.rollbackNow(ref);
    });
  }

  /** Cancels readiness timers; pending waiters reject. */
  close(): Promise<void> {
    this.closing.abort(closedError(this.name));
    this.store.clearTimers();
    return Promise.resolve();
  }

  private createNow(input: CreateSnapshotInput): CreateSnapshotResult {
    const volume = this.requireSnapshotableVolume(input.volume);
    const existing = this.store.record({ namespace: volume.namespace, name: input.name });
    if (existing) return this.adopt(existing, volume);
    const held = this.store.countForVolume(volume);
    if (held >= this.cap) {
      throw new SnapshotLimitError(
        `volume ${keyOf(volume)} holds ${held} snapshots; the cap is ${this.cap}`,
      );
    }
    const record = this.newRecord(input, volume);
    this.store.put(record);
    this.counts.creates++;
    this.scheduleReady(record, volume.sizeBytes);
    return { snapshot: copySnapshot(record.snapshot), adopted: false };
  }

  private adopt(existing: SnapshotRecord, volume: Volume): CreateSnapshotResult {
    if (existing.snapshot.volumeName !== volume.name || existing.volumeUid !== volume.uid) {
      throw new SnapshotConflictError(
        `snapshot ${keyOf(existing.snapshot)} belongs to volume ${existing.snapshot.volumeName}, ` +
          `not to ${volume.name} (uid ${volume.uid})`,
      );
    }
    this.counts.adopts++;
    return { snapshot: copySnapshot(existing.snapshot), adopted: true };
  }

  private newRecord(input: CreateSnapshotInput, volume: Volume): SnapshotRecord {
    const snapshot: Snapshot = {
      namespace: volume.namespace,
      name: input.name,
      uid: randomUUID(),
      volumeName: volume.name,
      createdAt: this.clock(),
      state: 'Creating',
      readyToUse: false,
      labels: { ...input.labels },
    };
    return { ...this.sourceOf(volume), volumeUid: volume.uid, snapshot };
  }

  private scheduleReady(record: SnapshotRecord, sizeBytes: number | undefined): void {
    const delay = this.options.readyDelayMs ?? 0;
    if (delay <= 0) {
      this.becomeReady(record, sizeBytes);
      return;
    }
    record.timer = setTimeout(() => this.becomeReady(record, sizeBytes), delay);
  }

  private becomeReady(record: SnapshotRecord, sizeBytes: number | undefined): void {
    delete record.timer;
    const { snapshot } = record;
    if (snapshot.state !== 'Creating') return;
    const failure = this.failures.take('ready');
    if (failure) {
      snapshot.state = 'Failed';
      snapshot.error = failure.message;
    } else {
      snapshot.state = 'Ready';
      snapshot.readyToUse = true;
      if (sizeBytes !== undefined) snapshot.restoreSizeBytes = sizeBytes;
    }
    this.store.changed(snapshot);
  }

  private markTerminating(record: SnapshotRecord): void {
    if (record.timer) clearTimeout(record.timer);
    delete record.timer;
    record.snapshot.state = 'Terminating';
    record.snapshot.readyToUse = false;
    this.store.changed(record.snapshot);
  }

  private restoreNow(input: RestoreToNewVolumeInput): Volume {
    const record = this.requireRecord(input.snapshot);
    if (this.store.volume(input.target)) throw targetExistsError(input);
    checkRestoreRules(input, record);
    return this.store.addVolume({
      namespace: input.target.namespace,
      name: input.target.name,
      labels: { [RESTORED_FROM_LABEL]: input.snapshot.name },
      sizeBytes: input.target.sizeBytes ?? record.snapshot.restoreSizeBytes,
      storageClassName: record.storageClassName,
      accessModes: record.accessModes,
    });
  }

  private rollbackNow(ref: SnapshotRef): void {
    const { snapshot, volumeUid } = this.requireRecord(ref);
    if (!snapshot.readyToUse) {
      throw new InvalidRequestError(`snapshot ${keyOf(ref)} is ${snapshot.state}`, 'snapshot');
    }
    const volume = this.store.volume({ namespace: ref.namespace, name: snapshot.volumeName });
    if (volume?.uid !== volumeUid) {
      throw new VolumeNotFoundError(
        `source volume ${snapshot.volumeName} of ${keyOf(ref)} is gone`,
      );
    }
  }

  private requireRecord(ref: SnapshotRef): SnapshotRecord {
    const record = this.store.record(ref);
    if (!record) throw new SnapshotNotFoundError(`snapshot ${keyOf(ref)} does not exist`);
    return record;
  }

  private requireSnapshotableVolume(ref: VolumeRef): Volume {
    const volume = this.store.volume(ref);
    if (!volume) throw new VolumeNotFoundError(`volume ${keyOf(ref)} does not exist`);
    if (volume.phase !== 'Bound') {
      throw new VolumeNotFoundError(
        `volume ${keyOf(ref)} is ${volume.phase}; only Bound volumes can be snapshotted`,
      );
    }
    return volume;
  }

  private sourceOf(
    volume: Volume | undefined,
  ): Pick<SnapshotRecord, 'storageClassName' | 'accessModes'> {
    const source: Pick<SnapshotRecord, 'storageClassName' | 'accessModes'> = {};
    if (volume?.storageClassName !== undefined) source.storageClassName = volume.storageClassName;
    if (volume?.accessModes !== undefined) source.accessModes = [...volume.accessModes];
    return source;
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
