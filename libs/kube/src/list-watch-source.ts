import type { KubeObject } from './resources.js';

/** What an informer lists and watches: the collection path and how to list it. */
export interface ListWatchSource<T extends KubeObject> {
  /** Collection URL path, e.g. `/apis/snapshot.storage.k8s.io/v1/namespaces/ns/volumesnapshots`. */
  path: string;
  labelSelector?: string;
  list(): Promise<{ items: T[]; resourceVersion: string }>;
}

/** The collection path of a resource (`group` '' is the core group), namespaced or not. */
export function resourcePath(
  group: string,
  version: string,
  plural: string,
  namespace?: string,
): string {
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  return namespace === undefined
    ? `${base}/${plural}`
    : `${base}/namespaces/${namespace}/${plural}`;
}
