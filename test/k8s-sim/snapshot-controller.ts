import { EventRecorder } from './events.js';
import type { FaultInjector } from './faults.js';
import { formatBinaryQuantity } from './quantity.js';
import type { Controller } from './server.js';
import type { SimStore } from './sim-store.js';
import {
  CLASS_KEY,
  DEFAULT_SNAPSHOT_CLASS_ANNOTATION,
  keyOf,
  SNAPSHOT_API as API,
  SNAPSHOT_FINALIZERS,
  SnapshotObjects,
  VS_KEY,
  VSC_KEY,
} from './snapshot-objects.js';
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

export { MAX_SNAPSHOTS_ANNOTATION, SNAPSHOT_FINALIZERS } from './snapshot-objects.js';

interface Plan {
  volumeHandle: string;
  driver: string;
  className: string;
  deletionPolicy: string;
  volumeMode: string;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/**
 * The snapshot-controller of external-snapshotter: binds each VolumeSnapshot to a
 * VolumeSnapshotContent (creating one for a claim, with the claim's driver and the named or
 * default VolumeSnapshotClass, or binding a pre-provisioned one), mirrors the content's state
 * into the snapshot's status, and on deletion applies the deletion policy before releasing its
 * finalizers. Snapshots blocked by a missing or unbound claim or class are retried when those
 * appear. The provider side lives in {@link CsiSnapshotter}.
 */
export class SnapshotController implements Controller {
  private readonly snapshots = new WorkQueue((key) => this.syncSnapshot(key));
  private readonly objects: SnapshotObjects;
  private readonly events: EventRecorder;
  private unsubscribe: (() => void) | undefined;

  constructor(
    store: SimStore,
    private readonly faults: FaultInjector,
  ) {
    this.objects = new SnapshotObjects(store);
    this.events = new EventRecorder(store, 'snapshot-controller');
  }

  /** Starts watching snapshots, contents, classes and claims. */
  start(): void {
    this.unsubscribe = this.objects.store.objects.subscribe('*', (event) => this.onEvent(event));
  }

  /** Stops the controller and drops pending work. */
  stop(): void {
    this.unsubscribe?.();
    this.snapshots.stop();
  }

  /** Re-examines every snapshot (e.g. after `faults.unstick`). */
  resync(): void {
    this.objects.all(VS_KEY).forEach((vs) => this.snapshots.add(keyOf(vs)));
  }

  private onEvent(event: StoreEvent): void {
    const obj = event.object;
    switch (event.resource) {
      case VS_KEY:
        if (event.type !== 'DELETED') this.snapshots.add(keyOf(obj));
        return;
      case VSC_KEY:
        this.onContent(obj);
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

  private onContent(content: KubeObject): void {
    const ns = getString(content, ['spec', 'volumeSnapshotRef', 'namespace']);
    const name = getString(content, ['spec', 'volumeSnapshotRef', 'name']);
    if (ns && name) this.snapshots.add(`${ns}/${name}`);
  }

  private onClaim(claim: KubeObject): void {
    const ns = claim.metadata.namespace;
    for (const vs of this.objects.all(VS_KEY, ns)) {
      const source = getString(vs, ['spec', 'source', 'persistentVolumeClaimName']);
      const waiting =
        !getString(vs, ['status', 'boundVolumeSnapshotContentName']) &&
        source === claim.metadata.name;
      if (waiting || vs.metadata.deletionTimestamp) this.snapshots.add(keyOf(vs));
    }
  }

  private retryUnbound(): void {
    for (const vs of this.objects.all(VS_KEY)) {
      if (!getString(vs, ['status', 'boundVolumeSnapshotContentName']))
        this.snapshots.add(keyOf(vs));
    }
  }

  // ---- VolumeSnapshot side (snapshot-controller) ----

  private syncSnapshot(key: string): void {
    const [ns, name] = splitKey(key);
    const vs = this.objects.get(VS_KEY, ns, name);
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
    const content = this.objects.get(VSC_KEY, undefined, contentName);
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
      vs = this.objects.store.mergeInto(vs, { spec: { volumeSnapshotClassName: plan.className } });
    }
    this.objects.store.create(
      this.objects.store.resourceFor(API, 'VolumeSnapshotContent'),
      undefined,
      {
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
      },
    );
    this.addFinalizers(vs);
    this.objects.writeStatus(vs, {
      boundVolumeSnapshotContentName: contentName,
      readyToUse: false,
    });
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
    const claim = this.objects.get('persistentvolumeclaims', vs.metadata.namespace, claimName);
    if (!claim)
      return `${prefix}: "failed to retrieve PVC ${claimName} from the lister: \\"persistentvolumeclaim \\\\\\"${claimName}\\\\\\" not found\\""`;
    const volumeName = getString(claim, ['spec', 'volumeName']);
    if (getString(claim, ['status', 'phase']) !== 'Bound' || !volumeName) {
      return `${prefix}: "the PVC ${claimName} is not yet bound to a PV, will not attempt to take a snapshot"`;
    }
    const pv = this.objects.get('persistentvolumes', undefined, volumeName);
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
      const found = this.objects.get(CLASS_KEY, undefined, named);
      return (
        found ??
        `Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "${named}" not found`
      );
    }
    const defaults = this.objects
      .all(CLASS_KEY)
      .filter(
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
    const content = this.objects.get(VSC_KEY, undefined, contentName);
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
      this.objects.store.mergeInto(content, {
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
    this.objects.writeStatus(vs, status);
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
    this.objects.writeStatus(vs, {
      ...(isRecord(vs.status) ? vs.status : {}),
      readyToUse: false,
      error: { message, time: rfc3339() },
    });
    this.events.record(vs, 'Warning', 'SnapshotContentCreationFailed', message);
  }

  private addFinalizers(vs: KubeObject): void {
    const current = this.objects.get(VS_KEY, vs.metadata.namespace, vs.metadata.name);
    if (!current || current.metadata.deletionTimestamp) return;
    const finalizers = current.metadata.finalizers ?? [];
    const missing = [SNAPSHOT_FINALIZERS.asSource, SNAPSHOT_FINALIZERS.bound].filter(
      (f) => !finalizers.includes(f),
    );
    if (missing.length > 0)
      this.objects.store.mergeInto(current, {
        metadata: { finalizers: [...finalizers, ...missing] },
      });
  }

  private finalizeSnapshot(vs: KubeObject): void {
    if (this.faults.isStuck(vs.metadata.name ?? '', vs.metadata.namespace)) return;
    if (this.usedAsSource(vs)) return;
    const contentName =
      getString(vs, ['status', 'boundVolumeSnapshotContentName']) ??
      getString(vs, ['spec', 'source', 'volumeSnapshotContentName']);
    const content = this.objects.get(VSC_KEY, undefined, contentName);
    if (content && getString(content, ['spec', 'deletionPolicy']) === 'Delete') {
      if (!content.metadata.deletionTimestamp)
        this.objects.store.delete(
          this.objects.store.resourceFor(API, 'VolumeSnapshotContent'),
          undefined,
          contentName ?? '',
        );
    } else if (content) {
      this.objects.dropFinalizers(content, [SNAPSHOT_FINALIZERS.content]);
    }
    this.objects.dropFinalizers(vs, [SNAPSHOT_FINALIZERS.asSource, SNAPSHOT_FINALIZERS.bound]);
  }

  /** A claim still being provisioned from this snapshot keeps it (as-source protection). */
  private usedAsSource(vs: KubeObject): boolean {
    return this.objects
      .all('persistentvolumeclaims', vs.metadata.namespace)
      .some(
        (claim) =>
          getString(claim, ['status', 'phase']) === 'Pending' &&
          getString(claim, ['spec', 'dataSource', 'kind']) === 'VolumeSnapshot' &&
          getString(claim, ['spec', 'dataSource', 'name']) === vs.metadata.name,
      );
  }

  // ---- VolumeSnapshotContent side (CSI snapshotter sidecar) ----
}
