import type { Controller } from './server.js';
import type { SimStore } from './sim-store.js';
import type { StoreEvent } from './store.js';
import type { KubeObject, OwnerReference } from './types.js';
import { WorkQueue } from './work-queue.js';

function hasPropagationFinalizer(object: KubeObject): boolean {
  const finalizers = object.metadata.finalizers ?? [];
  return finalizers.includes('foregroundDeletion') || finalizers.includes('orphan');
}

function ownerKey(resource: string, object: KubeObject): string {
  return `${resource}|${object.metadata.namespace ?? ''}|${object.metadata.name ?? ''}`;
}

/**
 * The namespace controller and the garbage collector: a terminating namespace is emptied (its
 * objects deleted, finalizers honoured) and then removed; dependents whose owners are all gone
 * are deleted (background), `foregroundDeletion` owners wait for their dependents, and `orphan`
 * owners release them first.
 */
export class LifecycleController implements Controller {
  private readonly namespaces = new WorkQueue((name) => this.syncNamespace(name));
  private readonly owners = new WorkQueue((key) => this.syncOwner(key));
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly store: SimStore) {}

  /** Starts watching every resource. */
  start(): void {
    this.unsubscribe = this.store.objects.subscribe('*', (event) => this.onEvent(event));
  }

  /** Stops the controller. */
  stop(): void {
    this.unsubscribe?.();
    this.namespaces.stop();
    this.owners.stop();
  }

  private onEvent(event: StoreEvent): void {
    const { object } = event;
    const meta = object.metadata;
    if (event.resource === 'namespaces' && meta.deletionTimestamp)
      this.namespaces.add(meta.name ?? '');
    else if (meta.namespace && event.type === 'DELETED') this.namespaces.add(meta.namespace);
    if (event.type === 'DELETED') this.collectDependents(meta.uid ?? '');
    if (meta.deletionTimestamp && hasPropagationFinalizer(object))
      this.owners.add(ownerKey(event.resource, object));
    for (const ref of meta.ownerReferences ?? []) this.requeueOwner(ref);
  }

  private everything(): { resource: string; object: KubeObject }[] {
    return this.store.objects
      .resources()
      .flatMap((resource) =>
        this.store.objects.list(resource).map((object) => ({ resource, object })),
      );
  }

  private syncNamespace(name: string): void {
    const ns = this.store.objects.get('namespaces', undefined, name);
    if (!ns?.metadata.deletionTimestamp) return;
    if (ns.status === undefined || (ns.status as { phase?: string }).phase !== 'Terminating') {
      this.store.writeStatus(ns, { phase: 'Terminating' });
    }
    const contents = this.everything().filter(({ object }) => object.metadata.namespace === name);
    for (const { object } of contents) {
      const rt = this.store.resourceFor(object.apiVersion, object.kind);
      if (!object.metadata.deletionTimestamp)
        this.store.delete(rt, name, object.metadata.name ?? '');
    }
    if (this.everything().some(({ object }) => object.metadata.namespace === name)) return;
    if ((ns.metadata.finalizers ?? []).length === 0)
      this.store.objects.remove('namespaces', undefined, name);
  }

  /** Deletes objects whose every owner is gone; drops dangling references otherwise. */
  private collectDependents(uid: string): void {
    if (!uid) return;
    for (const { object } of this.everything()) {
      const refs = object.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === uid) || object.metadata.deletionTimestamp) continue;
      const alive = refs.filter((r) => r.uid !== uid && this.exists(r, object.metadata.namespace));
      const rt = this.store.resourceFor(object.apiVersion, object.kind);
      if (alive.length === 0)
        this.store.delete(rt, object.metadata.namespace, object.metadata.name ?? '');
      else this.store.mergeInto(object, { metadata: { ownerReferences: alive } });
    }
  }

  private exists(ref: OwnerReference, namespace: string | undefined): boolean {
    return this.everything().some(
      ({ object }) =>
        object.metadata.uid === ref.uid &&
        (object.metadata.namespace === undefined || object.metadata.namespace === namespace),
    );
  }

  private requeueOwner(ref: OwnerReference): void {
    const owner = this.everything().find(({ object }) => object.metadata.uid === ref.uid);
    if (owner?.object.metadata.deletionTimestamp) {
      this.owners.add(
        `${owner.resource}|${owner.object.metadata.namespace ?? ''}|${owner.object.metadata.name ?? ''}`,
      );
    }
  }

  private syncOwner(key: string): void {
    const [resource = '', namespace = '', name = ''] = key.split('|');
    const owner = this.store.objects.get(resource, namespace || undefined, name);
    if (!owner?.metadata.deletionTimestamp) return;
    const finalizers = owner.metadata.finalizers ?? [];
    const orphaning = finalizers.includes('orphan');
    const dependents = this.dependentsOf(owner.metadata.uid);
    for (const object of dependents) {
      if (orphaning) this.release(object, owner.metadata.uid);
      else this.deleteObject(object);
    }
    if (!orphaning && dependents.length > 0) return;
    const rest = finalizers.filter((f) => f !== 'orphan' && f !== 'foregroundDeletion');
    this.store.mergeInto(owner, { metadata: { finalizers: rest } });
  }

  private dependentsOf(uid: string | undefined): KubeObject[] {
    return this.everything()
      .map(({ object }) => object)
      .filter((object) => (object.metadata.ownerReferences ?? []).some((r) => r.uid === uid));
  }

  private deleteObject(object: KubeObject): void {
    if (object.metadata.deletionTimestamp) return;
    const rt = this.store.resourceFor(object.apiVersion, object.kind);
    this.store.delete(rt, object.metadata.namespace, object.metadata.name ?? '');
  }

  /** Orphans a dependent: drops its reference to the owner. */
  private release(object: KubeObject, ownerUid: string | undefined): void {
    const kept = (object.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
    this.store.mergeInto(object, { metadata: { ownerReferences: kept.length > 0 ? kept : null } });
  }
}
