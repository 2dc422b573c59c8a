import type { KubeObject } from './resources.js';

/** What changed when a list replaced the cache. */
export interface CacheDiff<T> {
  added: T[];
  updated: { obj: T; old: T }[];
  deleted: T[];
}

/** Objects by `namespace/name` (cluster-scoped objects under an empty namespace). */
export class ObjectCache<T extends KubeObject> {
  private readonly objects = new Map<string, T>();

  static keyOf(namespace: string | undefined, name: string): string {
    return `${namespace ?? ''}/${name}`;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(ObjectCache.keyOf(namespace, name));
  }

  list(namespace?: string): T[] {
    const all = [...this.objects.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  /** Stores the object; returns the previous version, if any. */
  upsert(obj: T): T | undefined {
    const key = ObjectCache.keyOf(obj.metadata.namespace, obj.metadata.name);
    const old = this.objects.get(key);
    this.objects.set(key, obj);
    return old;
  }

  /** Removes the object; returns what was cached (or the object itself when it was unknown). */
  remove(obj: T): T {
    const key = ObjectCache.keyOf(obj.metadata.namespace, obj.metadata.name);
    this.objects.delete(key);
    return obj;
  }

  /** Replaces everything with a fresh list and reports the differences. */
  replace(items: T[]): CacheDiff<T> {
    const diff: CacheDiff<T> = { added: [], updated: [], deleted: [] };
    const seen = new Set<string>();
    for (const obj of items) {
      const key = ObjectCache.keyOf(obj.metadata.namespace, obj.metadata.name);
      seen.add(key);
      const old = this.upsert(obj);
      if (old === undefined) diff.added.push(obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        diff.updated.push({ obj, old });
      }
    }
    for (const [key, obj] of this.objects) {
      if (seen.has(key)) continue;
      this.objects.delete(key);
      diff.deleted.push(obj);
    }
    return diff;
  }
}
