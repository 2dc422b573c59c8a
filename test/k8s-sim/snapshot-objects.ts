import type { SimStore } from './sim-store.js';
import type { JsonObject, KubeObject } from './types.js';

/** apiVersion of the snapshot API. */
export const SNAPSHOT_API = 'snapshot.storage.k8s.io/v1';
/** Store keys of the snapshot resources. */
export const VS_KEY = 'volumesnapshots.snapshot.storage.k8s.io';
export const VSC_KEY = 'volumesnapshotcontents.snapshot.storage.k8s.io';
export const CLASS_KEY = 'volumesnapshotclasses.snapshot.storage.k8s.io';

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

/** `namespace/name` of an object. */
export function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/** Store access shared by the snapshot controller and the CSI snapshotter. */
export class SnapshotObjects {
  constructor(readonly store: SimStore) {}

  /** All objects of a resource (optionally one namespace). */
  all(resource: string, namespace?: string): KubeObject[] {
    return this.store.objects.list(resource, namespace);
  }

  /** One object, or undefined (also when no name is given). */
  get(
    resource: string,
    namespace: string | undefined,
    name: string | undefined,
  ): KubeObject | undefined {
    return name ? this.store.objects.get(resource, namespace, name) : undefined;
  }

  /** Replaces the status of the current version of a snapshot or content. */
  writeStatus(obj: KubeObject, status: JsonObject): void {
    const current = this.get(
      obj.kind === 'VolumeSnapshot' ? VS_KEY : VSC_KEY,
      obj.metadata.namespace,
      obj.metadata.name,
    );
    if (current) this.store.writeStatus(current, status);
  }

  /** Removes some finalizers (no write when none of them is there). */
  dropFinalizers(obj: KubeObject, remove: string[]): void {
    const finalizers = obj.metadata.finalizers ?? [];
    if (!finalizers.some((f) => remove.includes(f))) return;
    this.store.mergeInto(obj, {
      metadata: { finalizers: finalizers.filter((f) => !remove.includes(f)) },
    });
  }
}
