import { EventRecorder } from './events.js';
import type { FaultInjector } from './faults.js';
import { type FakeStorageProvider, ProviderError } from './provider.js';
import { formatBinaryQuantity } from './quantity.js';
import type { Controller } from './server.js';
import type { SimStore } from './sim-store.js';
import type { StoreEvent } from './store.js';
import {
  getPath,
  getString,
  isRecord,
  type JsonObject,
  type KubeObject,
  rfc3339,
} from './types.js';
import { WorkQueue } from './work-queue.js';

const API = 'snapshot.storage.k8s.io/v1';
const VS_KEY = 'volumesnapshots.snapshot.storage.k8s.io';
const VSC_KEY = 'volumesnapshotcontents.snapshot.storage.k8s.io';
const CLASS_KEY = 'volumesnapshotclasses.snapshot.storage.k8s.io';

/** Finalizers the real snapshot controller puts on VolumeSnapshots and their contents. */
export const SNAPSHOT_FINALIZERS = {
  asSource: 'snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection',
  bound: 'snapshot.storage.kubernetes.io/volumesnapshot-bound-protection',
  content: 'snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection',
};
/** Annotation marking the default VolumeSnapshotClass of a driver. */
export const DEFAULT_SNAPSHOT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';
/** Class annotation overriding the driver's per-volume snapshot cap. */
export const MAX_SNAPSHOTS_ANNOTATION = 'snapwarden.io/max-snapshots-per-volume';

/** Options of {@link SnapshotController}. */
export interface SnapshotControllerOptions {
  readyDelayMs: number;
}

interface Plan {
  volumeHandle: string;
  driver: string;
  className: string;
  deletionPolicy: string;
  volumeMode: string;
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function nanos(date: Date): number {
  return date.getTime() * 1e6;
}

/**
 * The external-snapshotter pair (snapshot-controller plus the CSI snapshotter sidecar) over
 * {@link FakeStorageProvider}: binds VolumeSnapshots to VolumeSnapshotContents, takes the
 * provider snapshot (reporting the provider's errors, e.g. the per-disk cap), marks it ready
 * after a delay, imports pre-provisioned contents, and honours deletion policies and finalizers.
 * Failed snapshots are retried when something that could unblock them changes.
 */
export class SnapshotController implements Controller {
  private readonly snapshots = new WorkQueue((key) => this.syncSnapshot(key));
  private readonly contents = new WorkQueue((name) => this.syncContent(name));
  private readonly readiness = new WorkQueue((name) => this.markReady(name));
  private readonly events: EventRecorder;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: SimStore,
    private readonly provider: FakeStorageProvider,
    private readonly faults: FaultInjector,
    private readonly options: SnapshotControllerOptions,
  ) {
    this.events = new EventRecorder(store, 'snapshot-controller');
  }

  /** Starts watching snapshots, contents, classes and claims. */
  start(): void {
    this.unsubscribe = this.store.objects.subscribe('*', (event) => this.onEvent(event));
  }

  /** Stops the controller and drops pending work. */
  stop(): void {
    this.unsubscribe?.();
    [this.snapshots, this.contents, this.readiness].forEach((q) => q.stop());
  }

  /** Re-examines every snapshot and content (e.g. after `faults.unstick`). */
  resync(): void {
    this.all(VS_KEY).forEach((vs) => this.snapshots.add(keyOf(vs)));
    this.all(VSC_KEY).forEach((c) => this.contents.add(c.metadata.name ?? ''));
  }

  private onEvent(event: StoreEvent): void {
    const obj = event.object;
    switch (event.resource) {
      case VS_KEY:
        if (event.type !== 'DELETED') this.snapshots.add(keyOf(obj));
        return;
      case VSC_KEY:
        this.onContent(event);
        return;
      case CLASS_KEY:
        this.retryUnbound();
        return;
      case 'persistentvolumeclaims':
        this.onClaim(obj);
        return;
      default:
        return;
    }
  }

  private onContent(event: StoreEvent): void {
    const content = event.object;
    if (event.type === 'DELETED') {
      this.retryFailedContents();
      return;
    }
    this.contents.add(content.metadata.name ?? '');
    const ns = getString(content, ['spec', 'volumeSnapshotRef', 'namespace']);
    const name = getString(content, ['spec', 'volumeSnapshotRef', 'name']);
    if (ns && name) this.snapshots.add(`${ns}/${name}`);
  }

  private onClaim(claim: KubeObject): void {
    const ns = claim.metadata.namespace;
    for (const vs of this.all(VS_KEY, ns)) {
      const source = getString(vs, ['spec', 'source', 'persistentVolumeClaimName']);
      const waiting =
        !getString(vs, ['status', 'boundVolumeSnapshotContentName']) &&
        source === claim.metadata.name;
      if (waiting || vs.metadata.deletionTimestamp) this.snapshots.add(keyOf(vs));
    }
  }

  private retryUnbound(): void {
    for (const vs of this.all(VS_KEY)) {
      if (!getString(vs, ['status', 'boundVolumeSnapshotContentName']))
        this.snapshots.add(keyOf(vs));
    }
  }

  private retryFailedContents(): void {
    for (const content of this.all(VSC_KEY)) {
      if (
        getPath(content, ['status', 'error']) &&
        !getString(content, ['status', 'snapshotHandle'])
      ) {
        this.contents.add(content.metadata.name ?? '');
      }
    }
  }

  private all(resource: string, namespace?: string): KubeObject[] {
    return this.store.objects.list(resource, namespace);
  }

  private get(
    resource: string,
    namespace: string | undefined,
    name: string | undefined,
  ): KubeObject | undefined {
    return name ? this.store.objects.get(resource, namespace, name) : undefined;
  }

  // ---- VolumeSnapshot side (snapshot-controller) ----

  private syncSnapshot(key: string): void {
    const [ns, name] = splitKey(key);
    const vs = this.get(VS_KEY, ns, name);
    if (!vs) return;
    if (vs.metadata.deletionTimestamp) {
      this.finalizeSnapshot(vs);
      return;
    }
    const staticName = getString(vs, ['spec', 'source', 'volumeSnapshotContentName']);
    if (staticName) this.syncStatic(vs, staticName);
    else this.syncDynamic(vs);
  }

  private syncDynamic(vs: KubeObject): void {
    const contentName = `snapcontent-${vs.metadata.uid ?? ''}`;
    const content = this.get(VSC_KEY, undefined, contentName);
    if (content) {
      this.propagate(vs, content);
      return;
    }
    const plan = this.plan(vs);
    if (typeof plan === 'string') {
      this.setError(vs, plan);
      return;
    }
    if (!getString(vs, ['spec', 'volumeSnapshotClassName'])) {
      vs = this.store.mergeInto(vs, { spec: { volumeSnapshotClassName: plan.className } });
    }
    this.store.create(this.store.resourceFor(API, 'VolumeSnapshotContent'), undefined, {
      apiVersion: API,
      kind: 'VolumeSnapshotContent',
      metadata: { name: contentName },
      spec: {
        volumeSnapshotRef: {
          apiVersion: API,
          kind: 'VolumeSnapshot',
          namespace: vs.metadata.namespace,
          name: vs.metadata.name,
          uid: vs.metadata.uid,
          resourceVersion: vs.metadata.resourceVersion,
        },
        source: { volumeHandle: plan.volumeHandle },
        volumeSnapshotClassName: plan.className,
        deletionPolicy: plan.deletionPolicy,
        driver: plan.driver,
        sourceVolumeMode: plan.volumeMode,
      },
    });
    this.addFinalizers(vs);
    this.writeStatus(vs, { boundVolumeSnapshotContentName: contentName, readyToUse: false });
    this.events.record(
      vs,
      'Normal',
      'CreatingSnapshot',
      `Waiting for a snapshot ${keyOf(vs)} to be created by the CSI driver.`,
    );
  }

  private plan(vs: KubeObject): Plan | string {
    const claimName = getString(vs, ['spec', 'source', 'persistentVolumeClaimName']) ?? '';
    const prefix = `Failed to create snapshot content with error failed to get input parameters to create snapshot ${vs.metadata.name ?? ''}`;
    const claim = this.get('persistentvolumeclaims', vs.metadata.namespace, claimName);
    if (!claim)
      return `${prefix}: "failed to retrieve PVC ${claimName} from the lister: \\"persistentvolumeclaim \\\\\\"${claimName}\\\\\\" not found\\""`;
    const volumeName = getString(claim, ['spec', 'volumeName']);
    if (getString(claim, ['status', 'phase']) !== 'Bound' || !volumeName) {
      return `${prefix}: "the PVC ${claimName} is not yet bound to a PV, will not attempt to take a snapshot"`;
    }
    const pv = this.get('persistentvolumes', undefined, volumeName);
    const driver = getString(pv, ['spec', 'csi', 'driver']);
    const volumeHandle = getString(pv, ['spec', 'csi', 'volumeHandle']);
    if (!driver || !volumeHandle) return `${prefix}: "volume ${volumeName} is not a CSI volume"`;
    const snapshotClass = this.snapshotClass(vs, driver);
    if (typeof snapshotClass === 'string') return snapshotClass;
    return {
      volumeHandle,
      driver,
      className: snapshotClass.metadata.name ?? '',
      deletionPolicy: getString(snapshotClass, ['deletionPolicy']) ?? 'Delete',
      volumeMode: getString(claim, ['spec', 'volumeMode']) ?? 'Filesystem',
    };
  }

  private snapshotClass(vs: KubeObject, driver: string): KubeObject | string {
    const named = getString(vs, ['spec', 'volumeSnapshotClassName']);
    if (named) {
      const found = this.get(CLASS_KEY, undefined, named);
      return (
        found ??
        `Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "${named}" not found`
      );
    }
    const defaults = this.all(CLASS_KEY).filter(
      (c) =>
        c.driver === driver &&
        c.metadata.annotations?.[DEFAULT_SNAPSHOT_CLASS_ANNOTATION] === 'true',
    );
    if (defaults.length === 1 && defaults[0]) return defaults[0];
    if (defaults.length === 0)
      return 'Failed to set default snapshot class with error cannot find default snapshot class';
    return `Failed to set default snapshot class with error ${defaults.length} default snapshot classes were found`;
  }

  private syncStatic(vs: KubeObject, contentName: string): void {
    const content = this.get(VSC_KEY, undefined, contentName);
    if (!content) {
      this.setError(vs, `VolumeSnapshotContent ${contentName} is missing`);
      return;
    }
    const ref = getPath(content, ['spec', 'volumeSnapshotRef']);
    const refersHere =
      isRecord(ref) && ref.name === vs.metadata.name && ref.namespace === vs.metadata.namespace;
    if (!refersHere || (ref.uid !== undefined && ref.uid !== vs.metadata.uid)) {
      this.setError(
        vs,
        `VolumeSnapshotContent ${contentName} is bound to a different VolumeSnapshot`,
      );
      return;
    }
    if (ref.uid === undefined) {
      this.store.mergeInto(content, {
        spec: {
          volumeSnapshotRef: {
            ...ref,
            uid: vs.metadata.uid,
            apiVersion: API,
            kind: 'VolumeSnapshot',
          },
        },
      });
    }
    this.propagate(vs, content);
  }

  /** Mirrors the content's state into the snapshot's status. */
  private propagate(vs: KubeObject, content: KubeObject): void {
    this.addFinalizers(vs);
    const status: JsonObject = {
      boundVolumeSnapshotContentName: content.metadata.name,
      readyToUse: getPath(content, ['status', 'readyToUse']) === true,
    };
    const created = getPath(content, ['status', 'creationTime']);
    if (typeof created === 'number') status.creationTime = rfc3339(new Date(created / 1e6));
    const size = getPath(content, ['status', 'restoreSize']);
    if (typeof size === 'number') status.restoreSize = formatBinaryQuantity(size);
    const error = getPath(content, ['status', 'error']);
    if (isRecord(error)) status.error = this.keepErrorTime(vs, error);
    const wasReady = getPath(vs, ['status', 'readyToUse']) === true;
    this.writeStatus(vs, status);
    if (status.readyToUse === true && !wasReady) {
      this.events.record(
        vs,
        'Normal',
        'SnapshotCreated',
        `Snapshot ${keyOf(vs)} was successfully created by the CSI driver.`,
      );
      this.events.record(vs, 'Normal', 'SnapshotReady', `Snapshot ${keyOf(vs)} is ready to use.`);
    }
  }

  private keepErrorTime(vs: KubeObject, error: JsonObject): JsonObject {
    const previous = getPath(vs, ['status', 'error']);
    return isRecord(previous) && previous.message === error.message ? previous : error;
  }

  private setError(vs: KubeObject, message: string): void {
    const previous = getPath(vs, ['status', 'error']);
    if (isRecord(previous) && previous.message === message) return;
    this.writeStatus(vs, {
      ...(isRecord(vs.status) ? vs.status : {}),
      readyToUse: false,
      error: { message, time: rfc3339() },
    });
    this.events.record(vs, 'Warning', 'SnapshotContentCreationFailed', message);
  }

  private writeStatus(obj: KubeObject, status: JsonObject): void {
    const current = this.get(
      obj.kind === 'VolumeSnapshot' ? VS_KEY : VSC_KEY,
      obj.metadata.namespace,
      obj.metadata.name,
    );
    if (current) this.store.writeStatus(current, status);
  }

  private addFinalizers(vs: KubeObject): void {
    const current = this.get(VS_KEY, vs.metadata.namespace, vs.metadata.name);
    if (!current || current.metadata.deletionTimestamp) return;
    const finalizers = current.metadata.finalizers ?? [];
    const missing = [SNAPSHOT_FINALIZERS.asSource, SNAPSHOT_FINALIZERS.bound].filter(
      (f) => !finalizers.includes(f),
    );
    if (missing.length > 0)
      this.store.mergeInto(current, { metadata: { finalizers: [...finalizers, ...missing] } });
  }

  private finalizeSnapshot(vs: KubeObject): void {
    if (this.faults.isStuck(vs.metadata.name ?? '', vs.metadata.namespace)) return;
    if (this.usedAsSource(vs)) return;
    const contentName =
      getString(vs, ['status', 'boundVolumeSnapshotContentName']) ??
      getString(vs, ['spec', 'source', 'volumeSnapshotContentName']);
    const content = this.get(VSC_KEY, undefined, contentName);
    if (content && getString(content, ['spec', 'deletionPolicy']) === 'Delete') {
      if (!content.metadata.deletionTimestamp)
        this.store.delete(
          this.store.resourceFor(API, 'VolumeSnapshotContent'),
          undefined,
          contentName ?? '',
        );
    } else if (content) {
      this.dropFinalizers(content, [SNAPSHOT_FINALIZERS.content]);
    }
    this.dropFinalizers(vs, [SNAPSHOT_FINALIZERS.asSource, SNAPSHOT_FINALIZERS.bound]);
  }

  /** A claim still being provisioned from this snapshot keeps it (as-source protection). */
  private usedAsSource(vs: KubeObject): boolean {
    return this.all('persistentvolumeclaims', vs.metadata.namespace).some(
      (claim) =>
        getString(claim, ['status', 'phase']) === 'Pending' &&
        getString(claim, ['spec', 'dataSource', 'kind']) === 'VolumeSnapshot' &&
        getString(claim, ['spec', 'dataSource', 'name']) === vs.metadata.name,
    );
  }

  private dropFinalizers(obj: KubeObject, remove: string[]): void {
    const finalizers = obj.metadata.finalizers ?? [];
    if (!finalizers.some((f) => remove.includes(f))) return;
    this.store.mergeInto(obj, {
      metadata: { finalizers: finalizers.filter((f) => !remove.includes(f)) },
    });
  }

  // ---- VolumeSnapshotContent side (CSI snapshotter sidecar) ----

  private syncContent(name: string): void {
    const content = this.get(VSC_KEY, undefined, name);
    if (!content) return;
    if (content.metadata.deletionTimestamp) {
      this.finalizeContent(content);
      return;
    }
    if (this.needsBoundFinalizer(content)) {
      const finalizers = [...(content.metadata.finalizers ?? []), SNAPSHOT_FINALIZERS.content];
      this.store.mergeInto(content, { metadata: { finalizers } });
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
    const snapshot = this.get(
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
    const snapshotClass = this.get(
      CLASS_KEY,
      undefined,
      getString(content, ['spec', 'volumeSnapshotClassName']),
    );
    const capText = snapshotClass?.metadata.annotations?.[MAX_SNAPSHOTS_ANNOTATION];
    const cap = capText !== undefined && /^\d+$/.test(capText) ? Number(capText) : undefined;
    try {
      const snapshot = this.provider.createSnapshot(volumeHandle, cap);
      this.writeStatus(content, {
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
      this.writeStatus(content, { readyToUse: false, error: { message, time: rfc3339() } });
      this.events.record(content, 'Warning', 'SnapshotCreationFailed', message);
    }
  }

  private markReady(name: string): void {
    const content = this.get(VSC_KEY, undefined, name);
    const handle = getString(content, ['status', 'snapshotHandle']);
    const snapshot = handle ? this.provider.snapshots.get(handle) : undefined;
    if (!content || !snapshot) return;
    snapshot.ready = true;
    this.writeStatus(content, {
      ...(isRecord(content.status) ? content.status : {}),
      readyToUse: true,
    });
  }

  private importSnapshot(content: KubeObject, handle: string): void {
    const known = this.provider.snapshots.get(handle);
    const size = known?.sizeBytes ?? getPath(content, ['status', 'restoreSize']);
    this.writeStatus(content, {
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
    this.dropFinalizers(content, [SNAPSHOT_FINALIZERS.content]);
  }
}
