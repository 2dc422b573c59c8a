import {
  KubeApiError,
  type KubeClient,
  type VolumeSnapshot,
  type VolumeSnapshotClass,
} from '#lib/kube';
import {
  InvalidRequestError,
  SnapshotConflictError,
  SnapshotLimitError,
  SnapshotNotFoundError,
  TransientDriverError,
  VolumeNotFoundError,
} from '../errors.js';
import { waitForReady } from '../memory/ready-waiter.js';
import { closedError } from '../shared/abortable.js';
import { assertDnsSubdomain } from '../shared/names.js';
import { checkRestoreNamespace, targetExistsError } from '../shared/restore-rules.js';
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
import { CsiCaches, type CsiInformers } from './csi-caches.js';
import { type ImportSnapshotInput, importSnapshot } from './csi-import.js';
import { rollbackHwameiStor } from './csi-rollback.js';
import { snapshotManifest, sourceClaimName, toSnapshot, toVolume } from './csi-snapshot-mapper.js';
import { defaultClassFor, knownCapOf, maxSnapshotsFor, rulesFor } from './driver-rules.js';
import { asDriverError, kubeCall } from './kube-errors.js';
import { checkCsiRestore, restoredClaim } from './restore-rules.js';

/** Settings of a {@link CsiDriver}. */
export interface CsiDriverOptions extends CsiInformers {
  kube: KubeClient;
  /** Class for snapshots that name none; else the default class of the claim's CSI driver. */
  defaultSnapshotClassName?: string;
  /** How long a rollback may take (default 10 minutes). */
  readyWaitMs?: number;
  /** Interval between reads of a rollback's state (default 500 ms). */
  rollbackPollMs?: number;
  /**
   * How long an operation waits for the informers' first sync before failing with a transient
   * error (default 30 s): an unreachable API server must not hang jobs forever.
   */
  syncTimeoutMs?: number;
}

/**
 * Volumes are PersistentVolumeClaims, snapshots are CSI VolumeSnapshots. Invariants: reads
 * (volumes, snapshots, classes) are answered from informer caches, so once they have synced a
 * snapshot lifecycle costs two API requests (create, delete) and no LIST; readiness comes from
 * the snapshot watch; every snapshot whose source is the claim counts toward the cap, managed or
 * not, failed or terminating; restore rules are checked before anything is created.
 */
export class CsiDriver implements SnapshotDriver {
  readonly name = 'csi';
  private readonly kube: KubeClient;
  private readonly caches: CsiCaches;
  private readonly closing = new AbortController();

  constructor(private readonly options: CsiDriverOptions) {
    this.kube = options.kube;
    this.caches = new CsiCaches(options.kube, options);
  }

  /** Creates a VolumeSnapshot bound to an existing provider snapshot (static import). */
  static importSnapshot(kube: KubeClient, input: ImportSnapshotInput): Promise<Snapshot> {
    return kubeCall(() => importSnapshot(kube, input));
  }

  /**
   * Starts the informers (if not yet) and resolves once their caches are filled; rejects with a
   * `TransientDriverError` when that takes longer than `syncTimeoutMs` (they keep trying).
   */
  async ready(): Promise<void> {
    const timeoutMs = this.options.syncTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(new TransientDriverError(`Kubernetes caches not synced within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.caches.sync(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async capabilities(volume: VolumeRef, snapshotClassName?: string): Promise<DriverCapabilities> {
    await this.ready();
    const vsClass = this.classFor(volume, snapshotClassName);
    const rules = rulesFor(vsClass?.driver);
    const caps: DriverCapabilities = {
      maxSnapshotsPerVolume: maxSnapshotsFor(vsClass),
      rollback: rules.rollback === true,
      restoreToNewVolume: true,
      oneInFlightPerVolume: rules.oneInFlightPerVolume === true,
    };
    const size = this.volumeOf(volume)?.sizeBytes;
    // A snapshot's restoreSize is its source claim's capacity: the least a restore may request.
    if (size !== undefined) caps.minRestoreBytes = size;
    return caps;
  }

  /**
   * The per-volume cap a snapshot class states (its annotation, else its driver's known cap),
   * from the informer cache (no request); `undefined` for a class that does not exist or states
   * none. Policies are validated against it when they are applied.
   */
  async snapshotClassCap(className: string): Promise<number | undefined> {
    await this.ready();
    const vsClass = this.caches.snapshotClass(className);
    return vsClass === undefined ? undefined : knownCapOf(vsClass);
  }

  async listVolumes(namespace?: string): Promise<Volume[]> {
    await this.ready();
    return this.caches.claims.list(namespace).map(toVolume);
  }

  /** Answered from the claim informer's cache, indexed by label (no API request). */
  async findVolumes(query: VolumeQuery): Promise<Volume[]> {
    await this.ready();
    return this.caches.findVolumes(query);
  }

  async getVolume(ref: VolumeRef): Promise<Volume | undefined> {
    await this.ready();
    return this.volumeOf(ref);
  }

  async listSnapshots(volume: VolumeRef): Promise<Snapshot[]> {
    await this.ready();
    return this.snapshotsOf(volume).map(toSnapshot);
  }

  async listAllSnapshots(namespace?: string): Promise<Snapshot[]> {
    await this.ready();
    return this.caches.snapshotsIn(namespace).map(toSnapshot);
  }

  async getSnapshot(ref: SnapshotRef): Promise<Snapshot | undefined> {
    await this.ready();
    const vs = this.caches.snapshot(ref.namespace, ref.name);
    return vs === undefined ? undefined : toSnapshot(vs);
  }

  /**
   * Creates the VolumeSnapshot under its deterministic name. An existing one of the same claim
   * is adopted (also when the create answers AlreadyExists); one of another source is a
   * `SnapshotConflictError`. Refused up front: a claim that is missing or not Bound, and a claim
   * already at its cap (so the provider is never asked for a snapshot it would fail).
   */
  async createSnapshot(input: CreateSnapshotInput): Promise<CreateSnapshotResult> {
    assertDnsSubdomain(input.name, 'name');
    await this.ready();
    const { volume } = input;
    const existing = this.caches.snapshot(volume.namespace, input.name);
    if (existing !== undefined) return { snapshot: this.adopt(existing, input), adopted: true };
    const claim = this.boundClaim(volume);
    const vsClass = this.classFor(volume, input.snapshotClassName);
    if (vsClass === undefined) throw this.noClassError(volume, input.snapshotClassName);
    this.checkCap(volume, vsClass);
    const manifest = snapshotManifest({
      namespace: volume.namespace,
      name: input.name,
      claimName: claim.name,
      className: vsClass.metadata.name,
      labels: input.labels,
    });
    try {
      const created = await this.kube.createVolumeSnapshot(manifest);
      this.caches.remember(created);
      return { snapshot: toSnapshot(created), adopted: false };
    } catch (error) {
      return this.afterCreateFailed(error, input);
    }
  }

  /**
   * Waits on the snapshot informer's events (no polling) until the snapshot is settled. A
   * snapshot the cache does not hold yet (created elsewhere a moment ago) is read once.
   */
  async waitUntilReady(
    ref: SnapshotRef,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Snapshot> {
    await this.ready();
    if (this.caches.snapshot(ref.namespace, ref.name) === undefined) {
      const fresh = await kubeCall(() => this.kube.getVolumeSnapshot(ref.namespace, ref.name));
      if (fresh !== undefined) this.caches.remember(fresh);
    }
    const read = () => {
      const vs = this.caches.snapshot(ref.namespace, ref.name);
      return vs === undefined ? undefined : toSnapshot(vs);
    };
    return waitForReady(this.caches.changes, read, ref, timeoutMs, [signal, this.closing.signal]);
  }

  /** Deletes the VolumeSnapshot (already gone is fine); the class's deletionPolicy decides the rest. */
  async deleteSnapshot(ref: SnapshotRef): Promise<void> {
    await kubeCall(() => this.kube.deleteVolumeSnapshot(ref.namespace, ref.name));
    this.caches.forget(ref.namespace, ref.name);
  }

  /**
   * Creates a claim with the snapshot as `dataSource`, after checking every restore rule
   * (namespace, readiness, size, the driver's capacity rule, class, access modes, a new name).
   * The claim is returned as created: usually Pending until the provisioner binds it.
   */
  async restoreToNewVolume(input: RestoreToNewVolumeInput): Promise<Volume> {
    checkRestoreNamespace(input);
    await this.ready();
    const vs = this.requireSnapshot(input.snapshot);
    const sourceClaim = this.caches.claim(vs.metadata.namespace ?? '', sourceClaimName(vs));
    const vsClass = this.snapshotClassOf(vs);
    const source = { vs, snapshot: toSnapshot(vs), sourceClaim, rules: rulesFor(vsClass?.driver) };
    checkCsiRestore(input, source);
    if (this.caches.claim(input.target.namespace, input.target.name) !== undefined) {
      throw targetExistsError(input);
    }
    try {
      return toVolume(await this.kube.createClaim(restoredClaim(input, source)));
    } catch (error) {
      const driverError = asDriverError(error);
      if (isAlreadyExists(error)) throw targetExistsError(input);
      throw driverError;
    }
  }

  /** Rolls the source volume back onto the snapshot; only HwameiStor classes can. */
  async rollback(ref: SnapshotRef): Promise<void> {
    await this.ready();
    const vs = this.requireSnapshot(ref);
    const driver = this.snapshotClassOf(vs)?.driver ?? 'unknown';
    if (rulesFor(driver).rollback !== true) {
      throw new InvalidRequestError(`driver ${driver} cannot roll back`, 'mode');
    }
    if (vs.status?.readyToUse !== true) {
      throw new InvalidRequestError(
        `snapshot ${ref.namespace}/${ref.name} is not ready`,
        'snapshot',
      );
    }
    await kubeCall(() =>
      rollbackHwameiStor(this.kube, vs, {
        timeoutMs: this.options.readyWaitMs ?? 600_000,
        pollMs: this.options.rollbackPollMs ?? 500,
        signal: this.closing.signal,
      }),
    );
  }

  close(): Promise<void> {
    this.closing.abort(closedError(this.name));
    this.caches.stop();
    return Promise.resolve();
  }

  private volumeOf(ref: VolumeRef): Volume | undefined {
    const claim = this.caches.claim(ref.namespace, ref.name);
    return claim === undefined ? undefined : toVolume(claim);
  }

  private snapshotsOf(volume: VolumeRef): VolumeSnapshot[] {
    return this.caches
      .snapshotsIn(volume.namespace)
      .filter((vs) => sourceClaimName(vs) === volume.name);
  }

  private boundClaim(ref: VolumeRef): Volume {
    const volume = this.volumeOf(ref);
    if (volume === undefined) {
      throw new VolumeNotFoundError(`claim ${ref.namespace}/${ref.name} does not exist`);
    }
    if (volume.phase !== 'Bound') {
      throw new VolumeNotFoundError(
        `claim ${ref.namespace}/${ref.name} is ${volume.phase}, not Bound: only bound claims can be snapshotted`,
      );
    }
    return volume;
  }

  /** The class named, else the configured default, else the default class of the claim's driver. */
  private classFor(volume: VolumeRef, className?: string): VolumeSnapshotClass | undefined {
    const named = className ?? this.options.defaultSnapshotClassName;
    if (named !== undefined) return this.caches.snapshotClass(named);
    const storageClassName = this.caches.claim(volume.namespace, volume.name)?.spec
      .storageClassName;
    const provisioner =
      storageClassName === undefined
        ? undefined
        : this.caches.storageClass(storageClassName)?.provisioner;
    return provisioner === undefined
      ? undefined
      : defaultClassFor(this.caches.allSnapshotClasses(), provisioner);
  }

  private snapshotClassOf(vs: VolumeSnapshot): VolumeSnapshotClass | undefined {
    const name = vs.spec.volumeSnapshotClassName;
    return name === undefined ? undefined : this.caches.snapshotClass(name);
  }

  private noClassError(volume: VolumeRef, className?: string): InvalidRequestError {
    const named = className ?? this.options.defaultSnapshotClassName;
    return new InvalidRequestError(
      named === undefined
        ? `no default VolumeSnapshotClass for the CSI driver of claim ${volume.namespace}/${volume.name}: ` +
            `name one, or annotate exactly one class with snapshot.storage.kubernetes.io/is-default-class: "true"`
        : `VolumeSnapshotClass "${named}" does not exist`,
      'snapshotClassName',
    );
  }

  private checkCap(volume: VolumeRef, vsClass: VolumeSnapshotClass): void {
    const max = maxSnapshotsFor(vsClass);
    const held = this.snapshotsOf(volume).length;
    if (held >= max) {
      throw new SnapshotLimitError(
        `claim ${volume.namespace}/${volume.name} holds ${held} snapshots, the limit of class ` +
          `${vsClass.metadata.name} is ${max} per volume`,
      );
    }
  }

  private adopt(vs: VolumeSnapshot, input: CreateSnapshotInput): Snapshot {
    if (sourceClaimName(vs) !== input.volume.name) {
      throw new SnapshotConflictError(
        `snapshot ${input.volume.namespace}/${input.name} exists for ` +
          `${sourceClaimName(vs) === '' ? 'a statically imported content' : `claim ${sourceClaimName(vs)}`}, ` +
          `not for claim ${input.volume.name}`,
      );
    }
    return toSnapshot(vs);
  }

  private async afterCreateFailed(
    error: unknown,
    input: CreateSnapshotInput,
  ): Promise<CreateSnapshotResult> {
    if (!isAlreadyExists(error)) throw asDriverError(error);
    // Created meanwhile by another worker (or our cache lags): read it and adopt or refuse.
    const current = await kubeCall(() =>
      this.kube.getVolumeSnapshot(input.volume.namespace, input.name),
    );
    if (current === undefined) throw asDriverError(error);
    return { snapshot: this.adopt(current, input), adopted: true };
  }

  private requireSnapshot(ref: SnapshotRef): VolumeSnapshot {
    const vs = this.caches.snapshot(ref.namespace, ref.name);
    if (vs === undefined) {
      throw new SnapshotNotFoundError(`snapshot ${ref.namespace}/${ref.name} does not exist`);
    }
    return vs;
  }
}

function isAlreadyExists(error: unknown): boolean {
  return error instanceof KubeApiError && error.alreadyExists;
}
