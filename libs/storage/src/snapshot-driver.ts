import type { LabelSelector } from '#lib/policy';

/**
 * The storage port. Every snapshot operation of snapwarden goes through one `SnapshotDriver`;
 * drivers differ in where volumes and snapshots live, never in the rules the engine applies.
 *
 * Contract for every implementation:
 * - `createSnapshot` is idempotent by name: creating a name that already exists for the same
 *   volume adopts it (`adopted: true`); the same name on another volume is a `SnapshotConflictError`.
 * - `deleteSnapshot` of a missing snapshot succeeds (idempotent).
 * - `listSnapshots(volume)` returns every snapshot of that volume: managed or not, ready,
 *   in progress, failed and terminating, because all of them count toward the cap.
 * - Methods never block the event loop for long: I/O is asynchronous and streaming.
 */
export interface SnapshotDriver {
  /** Short driver name, e.g. `local`, `memory`, `csi`. */
  readonly name: string;
  /** Capabilities that apply to snapshots of this volume (they may differ per snapshot class). */
  capabilities(volume: VolumeRef, snapshotClassName?: string): Promise<DriverCapabilities>;
  /** Volumes (claims) of one namespace, or of all namespaces when `namespace` is undefined. */
  listVolumes(namespace?: string): Promise<Volume[]>;
  /**
   * The volumes of one namespace a selector matches plus those it names that exist, each once,
   * sorted by name, whatever their phase. Answered from an index the driver keeps up to date
   * from events, so its cost follows the volumes found, not the namespace: a tick calls it.
   * Fresh as `listVolumes`: a change that completed before the call is seen (memory, local),
   * or once the claim watch has delivered it (csi). `sizeBytes` may be left out where it costs
   * a walk of the volume (local driver); `getVolume` and `listVolumes` give it.
   */
  findVolumes(query: VolumeQuery): Promise<Volume[]>;
  getVolume(ref: VolumeRef): Promise<Volume | undefined>;
  /** Every snapshot whose source is this volume (see the contract above). */
  listSnapshots(volume: VolumeRef): Promise<Snapshot[]>;
  /** Every snapshot of one namespace, or of all namespaces. */
  listAllSnapshots(namespace?: string): Promise<Snapshot[]>;
  getSnapshot(ref: SnapshotRef): Promise<Snapshot | undefined>;
  createSnapshot(input: CreateSnapshotInput): Promise<CreateSnapshotResult>;
  /**
   * Resolves with the snapshot once it is ready, rejects with `SnapshotFailedError` when it
   * reports an error, and with `SnapshotTimeoutError` after `timeoutMs`. Implementations wait on
   * events or timers, never on a busy loop.
   */
  waitUntilReady(ref: SnapshotRef, timeoutMs: number, signal?: AbortSignal): Promise<Snapshot>;
  deleteSnapshot(ref: SnapshotRef): Promise<void>;
  /** Creates a new volume holding the snapshot's data. Requires `capabilities.restoreToNewVolume`. */
  restoreToNewVolume(input: RestoreToNewVolumeInput): Promise<Volume & OperationReport>;
  /** Replaces the source volume's contents with the snapshot's. Requires `capabilities.rollback`. */
  rollback(ref: SnapshotRef): Promise<OperationReport | void>;
  /** Releases watches, timers and connections. */
  close(): Promise<void>;
}

/** What a driver says about a restore or rollback besides its result (local driver). */
export interface OperationReport {
  /** An earlier restore or rollback of the same volume that a crash cut short; now redone. */
  interrupted?: { operation: 'restore' | 'rollback'; snapshot: string; startedAt: string };
}

/** Which volumes of a namespace `findVolumes` returns (a policy's `selector` and `claimNames`). */
export interface VolumeQuery {
  namespace: string;
  /** Kubernetes semantics: `{}` matches every volume, no selector matches none. */
  selector?: LabelSelector;
  names?: readonly string[];
}

export interface VolumeRef {
  namespace: string;
  name: string;
}

export interface SnapshotRef {
  namespace: string;
  name: string;
}

export type VolumePhase = 'Bound' | 'Pending' | 'Lost';

export interface Volume extends VolumeRef {
  /** Stable identity: survives renames of nothing, changes when the volume is recreated. */
  uid: string;
  labels: Record<string, string>;
  phase: VolumePhase;
  sizeBytes?: number;
  storageClassName?: string;
  accessModes?: string[];
}

export type SnapshotState = 'Creating' | 'Ready' | 'Failed' | 'Terminating';

export interface Snapshot extends SnapshotRef {
  uid: string;
  /** Name of the source volume, in the snapshot's namespace. */
  volumeName: string;
  createdAt: Date;
  state: SnapshotState;
  readyToUse: boolean;
  restoreSizeBytes?: number;
  error?: string;
  labels: Record<string, string>;
  /** The snapshot class it was taken with (kubernetes); its driver decides what a restore can do. */
  snapshotClassName?: string;
  /** How the data was captured, where the driver reads files itself (local driver). */
  capture?: SnapshotCapture;
}

/**
 * A snapshot read file by file is crash-consistent: files that changed while they were read
 * are named here, and so are entries it could not hold. A build interrupted (its builder died) and redone has `interruptedAt` (last
 * sign of life of the lost build) and `rebuiltAt` (the data is the volume as of then).
 */
export interface SnapshotCapture {
  changedWhileRead: string[];
  changedCount: number;
  /** Sockets and device nodes, which an archive of files does not hold. */
  skipped?: string[];
  interruptedAt?: string;
  rebuiltAt?: string;
}

export interface DriverCapabilities {
  /** Provider cap: snapshots of one volume, counting every snapshot `listSnapshots` returns. */
  maxSnapshotsPerVolume: number;
  rollback: boolean;
  restoreToNewVolume: boolean;
  /** Smallest size a volume restored from a snapshot may request, if the provider has a rule. */
  minRestoreBytes?: number;
  /** The provider allows only one snapshot in progress per volume. */
  oneInFlightPerVolume: boolean;
  /**
   * `deleteSnapshot` does the whole deletion before it returns (the local driver): a snapshot
   * still Terminating once its volume's lock is taken is a deletion whose caller died, and
   * deleting it again finishes it. Where a controller deletes (Kubernetes, the memory driver's
   * simulation of it), Terminating is that controller's business.
   */
  deletesInline?: boolean;
}

export interface CreateSnapshotInput {
  volume: VolumeRef;
  name: string;
  labels: Record<string, string>;
  snapshotClassName?: string;
}

export interface CreateSnapshotResult {
  snapshot: Snapshot;
  /** True when a snapshot of that name and volume already existed and was taken over. */
  adopted: boolean;
}

export interface RestoreToNewVolumeInput {
  snapshot: SnapshotRef;
  target: {
    namespace: string;
    name: string;
    storageClassName?: string;
    sizeBytes?: number;
    accessModes?: string[];
  };
}
