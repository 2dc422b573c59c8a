import { EventEmitter } from 'node:events';
import {
  Informer,
  type KubeClient,
  type PersistentVolumeClaim,
  type StorageClass,
  type VolumeSnapshot,
  type VolumeSnapshotClass,
} from '#lib/kube';
import type { Volume, VolumeQuery } from '../snapshot-driver.js';
import { VolumeIndex } from '../shared/volume-index.js';
import { toVolume } from './csi-snapshot-mapper.js';

/** Informers the caller may share with the driver (it starts and stops only its own). */
export interface CsiInformers {
  snapshotInformer?: Informer<VolumeSnapshot>;
  claimInformer?: Informer<PersistentVolumeClaim>;
}

const RECENT_TTL_MS = 60_000;

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * The driver's view of the cluster, answered from informers so that a snapshot job lists
 * nothing. Snapshots this process just created are overlaid until the watch delivers them (for
 * at most a minute), so a create followed at once by a wait or a count sees its own write.
 * `changes` emits `namespace/name` whenever a snapshot changes (the readiness waiters listen).
 */
export class CsiCaches {
  readonly changes = new EventEmitter();
  readonly snapshots: Informer<VolumeSnapshot>;
  readonly claims: Informer<PersistentVolumeClaim>;
  private readonly snapshotClasses: Informer<VolumeSnapshotClass>;
  private readonly storageClasses: Informer<StorageClass>;
  private readonly owned: { stop(): void }[] = [];
  private readonly recent = new Map<string, { vs: VolumeSnapshot; at: number }>();
  /** Claims as volumes, indexed by label; follows the claim informer's events. */
  private readonly volumes = new VolumeIndex();
  private started?: Promise<void>;

  constructor(kube: KubeClient, informers: CsiInformers) {
    this.changes.setMaxListeners(0);
    this.snapshots =
      informers.snapshotInformer ?? this.own(new Informer(kube, kube.volumeSnapshotSource()));
    this.claims = informers.claimInformer ?? this.own(new Informer(kube, kube.claimSource()));
    this.snapshotClasses = this.own(
      new Informer(kube, kube.customSource<VolumeSnapshotClass>(SNAPSHOT_CLASSES)),
    );
    this.storageClasses = this.own(
      new Informer(kube, kube.customSource<StorageClass>(STORAGE_CLASSES)),
    );
    const changed = (vs: VolumeSnapshot) => this.onSnapshotEvent(vs);
    this.snapshots.on('add', changed).on('update', changed).on('delete', changed);
    this.indexClaims();
  }

  /** Claims a selector matches plus named ones, from the index (see `SnapshotDriver`). */
  findVolumes(query: VolumeQuery): Volume[] {
    return this.volumes.find(query).map((v) => ({ ...v, labels: { ...v.labels } }));
  }

  /** Starts the informers (once) and resolves when every one of them has synced. */
  sync(): Promise<void> {
    this.started ??= Promise.all(
      [this.snapshots, this.claims, this.snapshotClasses, this.storageClasses].map((i) =>
        i.start(),
      ),
    ).then(() => undefined);
    return this.started;
  }

  /** Stops the informers this driver started. */
  stop(): void {
    for (const informer of this.owned) informer.stop();
  }

  snapshot(namespace: string, name: string): VolumeSnapshot | undefined {
    return this.snapshots.get(namespace, name) ?? this.recentSnapshot(keyOf(namespace, name));
  }

  /** Snapshots of a namespace (or all), the just-created overlay included. */
  snapshotsIn(namespace?: string): VolumeSnapshot[] {
    const listed = this.snapshots.list(namespace);
    const known = new Set(listed.map((vs) => keyOf(vs.metadata.namespace ?? '', vs.metadata.name)));
    const extra = [...this.recent.keys()]
      .filter((key) => !known.has(key))
      .flatMap((key) => this.recentSnapshot(key) ?? [])
      .filter((vs) => namespace === undefined || vs.metadata.namespace === namespace);
    return [...listed, ...extra];
  }

  /** Remembers a snapshot this process created (or just read) until the informer has it. */
  remember(vs: VolumeSnapshot): void {
    this.recent.set(keyOf(vs.metadata.namespace ?? '', vs.metadata.name), { vs, at: Date.now() });
  }

  forget(namespace: string, name: string): void {
    this.recent.delete(keyOf(namespace, name));
  }

  claim(namespace: string, name: string): PersistentVolumeClaim | undefined {
    return this.claims.get(namespace, name);
  }

  snapshotClass(name: string): VolumeSnapshotClass | undefined {
    return this.snapshotClasses.get(undefined, name);
  }

  allSnapshotClasses(): VolumeSnapshotClass[] {
    return this.snapshotClasses.list();
  }

  storageClass(name: string): StorageClass | undefined {
    return this.storageClasses.get(undefined, name);
  }

  /**
   * Keeps the volume index equal to the claim informer's cache: it starts from what a shared
   * informer may already hold, then follows every add, update and delete (a relist after a
   * lost watch reports its differences as such events too).
   */
  private indexClaims(): void {
    const put = (claim: PersistentVolumeClaim) => this.volumes.upsert(toVolume(claim));
    for (const claim of this.claims.list()) put(claim);
    this.claims.on('add', put).on('update', put);
    this.claims.on('delete', (claim) =>
      this.volumes.remove({ namespace: claim.metadata.namespace ?? '', name: claim.metadata.name }),
    );
  }

  private own<I extends { stop(): void }>(informer: I): I {
    this.owned.push(informer);
    return informer;
  }

  private recentSnapshot(key: string): VolumeSnapshot | undefined {
    const entry = this.recent.get(key);
    if (entry === undefined) return undefined;
    if (Date.now() - entry.at <= RECENT_TTL_MS) return entry.vs;
    this.recent.delete(key);
    return undefined;
  }

  private onSnapshotEvent(vs: VolumeSnapshot): void {
    const key = keyOf(vs.metadata.namespace ?? '', vs.metadata.name);
    this.recent.delete(key);
    this.changes.emit(key);
  }
}

const SNAPSHOT_CLASSES = {
  group: 'snapshot.storage.k8s.io',
  version: 'v1',
  plural: 'volumesnapshotclasses',
};
const STORAGE_CLASSES = { group: 'storage.k8s.io', version: 'v1', plural: 'storageclasses' };
