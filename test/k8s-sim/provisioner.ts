import { PVC_PROTECTION } from './builtin-strategies.js';
import { EventRecorder } from './events.js';
import type { FakeStorageProvider } from './provider.js';
import { formatBinaryQuantity, parseQuantity } from './quantity.js';
import { checkRestore, type RestoreSource } from './restore-rules.js';
import type { Controller } from './server.js';
import type { SimStore } from './sim-store.js';
import type { StoreEvent } from './store.js';
import { getPath, getString, type KubeObject, strings } from './types.js';
import { WorkQueue } from './work-queue.js';

const SC_KEY = 'storageclasses.storage.k8s.io';
const VS_KEY = 'volumesnapshots.snapshot.storage.k8s.io';
const VSC_KEY = 'volumesnapshotcontents.snapshot.storage.k8s.io';

/** Annotations the provisioner records on a claim restored from a snapshot. */
export const RESTORED_FROM_ANNOTATION = 'k8s-sim.snapwarden.io/restored-from';
export const RESTORED_FROM_HANDLE_ANNOTATION =
  'k8s-sim.snapwarden.io/restored-from-snapshot-handle';

/** Options of {@link Provisioner}. */
export interface ProvisionerOptions {
  provisionDelayMs: number;
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

function claimsOf(pod: KubeObject): string[] {
  const volumes = getPath(pod, ['spec', 'volumes']);
  if (!Array.isArray(volumes)) return [];
  return volumes
    .map((v) => getString(v, ['persistentVolumeClaim', 'claimName']))
    .filter((n): n is string => n !== undefined);
}

function isPending(claim: KubeObject): boolean {
  return (
    !claim.metadata.deletionTimestamp &&
    getString(claim, ['status', 'phase']) === 'Pending' &&
    !getString(claim, ['spec', 'volumeName'])
  );
}

/**
 * The PV controller plus an external CSI provisioner: a pending claim whose StorageClass exists
 * gets a disk at the provider and a bound PersistentVolume after a delay; a claim with a
 * VolumeSnapshot data source is provisioned only when the restore rules hold, otherwise it stays
 * Pending with a `ProvisioningFailed` event naming the rule. A deleted claim stays Terminating
 * while a (non-finished) pod mounts it (pvc-protection); once gone it releases its volume per the
 * reclaim policy.
 */
export class Provisioner implements Controller {
  private readonly queue = new WorkQueue((key) => this.sync(key));
  private readonly binder = new WorkQueue((key) => this.bind(key));
  private readonly protection = new WorkQueue((namespace) => this.unprotect(namespace));
  private readonly events: EventRecorder;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: SimStore,
    private readonly provider: FakeStorageProvider,
    private readonly options: ProvisionerOptions,
  ) {
    this.events = new EventRecorder(store, 'persistentvolume-controller');
  }

  /** Starts watching claims, classes and snapshots. */
  start(): void {
    this.unsubscribe = this.store.objects.subscribe('*', (event) => this.onEvent(event));
  }

  /** Stops the provisioner and drops pending work. */
  stop(): void {
    this.unsubscribe?.();
    this.queue.stop();
    this.binder.stop();
    this.protection.stop();
  }

  private onEvent(event: StoreEvent): void {
    if (event.resource === 'persistentvolumeclaims') {
      this.onClaim(event);
      return;
    }
    if (event.resource === 'pods') {
      this.protection.add(event.object.metadata.namespace ?? '');
      return;
    }
    if (event.resource === SC_KEY || event.resource === VS_KEY || event.resource === VSC_KEY)
      this.retryPending();
  }

  private onClaim(event: StoreEvent): void {
    const claim = event.object;
    if (event.type === 'DELETED') this.release(claim);
    else if (claim.metadata.deletionTimestamp) this.protection.add(claim.metadata.namespace ?? '');
    else if (isPending(claim)) this.queue.add(keyOf(claim));
  }

  /** The pvc-protection controller: a terminating claim goes once no pod uses it. */
  private unprotect(namespace: string): void {
    const pods = this.store.objects
      .list('pods', namespace)
      .filter((p) => !['Succeeded', 'Failed'].includes(getString(p, ['status', 'phase']) ?? ''));
    const used = new Set(pods.flatMap((p) => claimsOf(p)));
    for (const claim of this.store.objects.list('persistentvolumeclaims', namespace)) {
      const finalizers = claim.metadata.finalizers ?? [];
      if (
        !claim.metadata.deletionTimestamp ||
        used.has(claim.metadata.name ?? '') ||
        !finalizers.includes(PVC_PROTECTION)
      )
        continue;
      this.store.mergeInto(claim, {
        metadata: { finalizers: finalizers.filter((f) => f !== PVC_PROTECTION) },
      });
    }
  }

  private retryPending(): void {
    for (const claim of this.store.objects.list('persistentvolumeclaims')) {
      if (isPending(claim)) this.queue.add(keyOf(claim));
    }
  }

  private claim(key: string): KubeObject | undefined {
    const slash = key.indexOf('/');
    return this.store.objects.get(
      'persistentvolumeclaims',
      key.slice(0, slash),
      key.slice(slash + 1),
    );
  }

  private sync(key: string): void {
    const claim = this.claim(key);
    if (!claim || !isPending(claim)) return;
    const className = getString(claim, ['spec', 'storageClassName']);
    if (!className) {
      this.events.record(
        claim,
        'Normal',
        'FailedBinding',
        'no persistent volumes available for this claim and no storage class is set',
      );
      return;
    }
    const storageClass = this.store.objects.get(SC_KEY, undefined, className);
    if (!storageClass) {
      this.events.record(
        claim,
        'Warning',
        'ProvisioningFailed',
        `storageclass.storage.k8s.io "${className}" not found`,
      );
      return;
    }
    if (getString(storageClass, ['volumeBindingMode']) === 'WaitForFirstConsumer') {
      this.events.record(
        claim,
        'Normal',
        'WaitForFirstConsumer',
        'waiting for first consumer to be created before binding',
      );
      return;
    }
    const source = this.restoreSource(claim, getString(storageClass, ['provisioner']) ?? '');
    if (typeof source === 'string') {
      this.events.record(
        claim,
        'Warning',
        'ProvisioningFailed',
        `failed to provision volume with StorageClass "${className}": ${source}`,
      );
      return;
    }
    this.events.record(
      claim,
      'Normal',
      'Provisioning',
      `External provisioner is provisioning volume for claim "${keyOf(claim)}"`,
    );
    this.binder.add(key, this.options.provisionDelayMs);
  }

  private restoreSource(claim: KubeObject, driver: string): RestoreSource | string | undefined {
    const dataSource = getPath(claim, ['spec', 'dataSource']);
    if (dataSource === undefined) return undefined;
    const kind = getString(claim, ['spec', 'dataSource', 'kind']);
    const group = getString(claim, ['spec', 'dataSource', 'apiGroup']);
    if (kind !== 'VolumeSnapshot' || group !== 'snapshot.storage.k8s.io') {
      return `data source ${group ?? ''}/${kind ?? ''} is not supported by k8s-sim (only VolumeSnapshot)`;
    }
    const name = getString(claim, ['spec', 'dataSource', 'name']) ?? '';
    const snapshot = this.store.objects.get(VS_KEY, claim.metadata.namespace, name);
    const contentName = getString(snapshot, ['status', 'boundVolumeSnapshotContentName']);
    const content = contentName
      ? this.store.objects.get(VSC_KEY, undefined, contentName)
      : undefined;
    return checkRestore({ claim, snapshot, content, driver, provider: this.provider });
  }

  private bind(key: string): void {
    const claim = this.claim(key);
    if (!claim || !isPending(claim)) return;
    const storageClass = this.store.objects.get(
      SC_KEY,
      undefined,
      getString(claim, ['spec', 'storageClassName']) ?? '',
    );
    const driver = getString(storageClass, ['provisioner']);
    const source = driver ? this.restoreSource(claim, driver) : 'storage class vanished';
    if (!storageClass || !driver || typeof source === 'string') {
      this.queue.add(key);
      return;
    }
    const requested =
      parseQuantity(getPath(claim, ['spec', 'resources', 'requests', 'storage'])) ?? 0;
    const volume = this.provider.createVolume({
      driver,
      sizeBytes: requested,
      storageClassName: storageClass.metadata.name,
      accessModes: strings(getPath(claim, ['spec', 'accessModes'])),
      volumeMode: getString(claim, ['spec', 'volumeMode']) ?? 'Filesystem',
      sourceSnapshot: source?.snapshotHandle,
    });
    const pvName = `pvc-${claim.metadata.uid ?? ''}`;
    const capacity = formatBinaryQuantity(requested);
    this.createVolumeObject(claim, storageClass, {
      pvName,
      capacity,
      driver,
      handle: volume.handle,
    });
    this.bindClaim(claim, { pvName, capacity, driver, source });
    this.events.record(
      claim,
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${pvName}`,
    );
  }

  private createVolumeObject(
    claim: KubeObject,
    storageClass: KubeObject,
    v: { pvName: string; capacity: string; driver: string; handle: string },
  ): void {
    const rt = this.store.resourceFor('v1', 'PersistentVolume');
    const pv = this.store.create(rt, undefined, {
      metadata: {
        name: v.pvName,
        annotations: {
          'pv.kubernetes.io/provisioned-by': v.driver,
          'volume.kubernetes.io/provisioner-deletion-secret-name': '',
          'volume.kubernetes.io/provisioner-deletion-secret-namespace': '',
        },
      },
      spec: {
        capacity: { storage: v.capacity },
        accessModes: getPath(claim, ['spec', 'accessModes']),
        persistentVolumeReclaimPolicy: getString(storageClass, ['reclaimPolicy']) ?? 'Delete',
        storageClassName: storageClass.metadata.name,
        volumeMode: getString(claim, ['spec', 'volumeMode']) ?? 'Filesystem',
        claimRef: {
          kind: 'PersistentVolumeClaim',
          namespace: claim.metadata.namespace,
          name: claim.metadata.name,
          uid: claim.metadata.uid,
          apiVersion: 'v1',
          resourceVersion: claim.metadata.resourceVersion,
        },
        csi: {
          driver: v.driver,
          volumeHandle: v.handle,
          fsType: 'ext4',
          volumeAttributes: {
            'storage.kubernetes.io/csiProvisionerIdentity': `k8s-sim-${v.driver}`,
          },
        },
      },
    });
    this.store.writeStatus(pv, { phase: 'Bound' });
  }

  private bindClaim(
    claim: KubeObject,
    b: { pvName: string; capacity: string; driver: string; source: RestoreSource | undefined },
  ): void {
    const provenance = b.source
      ? {
          [RESTORED_FROM_ANNOTATION]: b.source.snapshotName,
          [RESTORED_FROM_HANDLE_ANNOTATION]: b.source.snapshotHandle,
        }
      : {};
    const bound = this.store.mergeInto(claim, {
      metadata: {
        annotations: {
          'pv.kubernetes.io/bind-completed': 'yes',
          'pv.kubernetes.io/bound-by-controller': 'yes',
          'volume.beta.kubernetes.io/storage-provisioner': b.driver,
          'volume.kubernetes.io/storage-provisioner': b.driver,
          ...provenance,
        },
      },
      spec: { volumeName: b.pvName },
    });
    this.store.writeStatus(bound, {
      phase: 'Bound',
      accessModes: getPath(claim, ['spec', 'accessModes']),
      capacity: { storage: b.capacity },
    });
  }

  /** A deleted claim releases its volume: Delete removes PV and disk, Retain leaves it Released. */
  private release(claim: KubeObject): void {
    const pvName = getString(claim, ['spec', 'volumeName']);
    const pv = pvName ? this.store.objects.get('persistentvolumes', undefined, pvName) : undefined;
    if (!pv) return;
    const rt = this.store.resourceFor('v1', 'PersistentVolume');
    if (getString(pv, ['spec', 'persistentVolumeReclaimPolicy']) === 'Delete') {
      this.provider.deleteVolume(getString(pv, ['spec', 'csi', 'volumeHandle']) ?? '');
      this.store.delete(rt, undefined, pvName ?? '');
      return;
    }
    this.store.writeStatus(pv, { phase: 'Released' });
  }
}
