import { CRD_CLEANUP_FINALIZER, CRD_RESOURCE_KEY, resourceFromCrd } from './crd.js';
import type { ResourceType } from './resources.js';
import type { SimStore } from './sim-store.js';
import type { StoreEvent } from './store.js';
import { getPath, getString, isRecord, jsonEqual, type KubeObject, rfc3339 } from './types.js';

function condition(type: string, reason: string, message: string): Record<string, string> {
  return { type, status: 'True', lastTransitionTime: rfc3339(), reason, message };
}

function establishedStatus(crd: KubeObject, rt: ResourceType): Record<string, unknown> {
  const names = isRecord(getPath(crd, ['spec', 'names'])) ? getPath(crd, ['spec', 'names']) : {};
  const storage = (getPath(crd, ['spec', 'versions']) as unknown[] | undefined)
    ?.filter(isRecord)
    .find((v) => v.storage === true)?.name;
  const previous = getPath(crd, ['status', 'storedVersions']);
  const stored = Array.isArray(previous) ? previous.map(String) : [];
  if (typeof storage === 'string' && !stored.includes(storage)) stored.push(storage);
  return {
    acceptedNames: {
      ...(isRecord(names) ? names : {}),
      singular: rt.singular,
      listKind: rt.listKind,
    },
    conditions: [
      condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
      condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
    ],
    storedVersions: stored,
  };
}

function isEstablished(crd: KubeObject): boolean {
  const conditions = getPath(crd, ['status', 'conditions']);
  return (
    Array.isArray(conditions) &&
    conditions.some((c) => isRecord(c) && c.type === 'Established' && c.status === 'True')
  );
}

/**
 * What apiextensions-apiserver's controllers do: serve a CRD's resource as soon as it is stored,
 * report `NamesAccepted`/`Established`, and on deletion remove every custom object before
 * dropping the cleanup finalizer (then stop serving).
 */
export class CrdController {
  private unsubscribe: (() => void) | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly store: SimStore) {}

  /** Starts reacting to CRD changes. */
  start(): void {
    this.unsubscribe = this.store.objects.subscribe('*', (event) => this.onEvent(event));
  }

  /** Stops the controller and its pending work. */
  stop(): void {
    this.unsubscribe?.();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private later(fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, 0);
    this.timers.add(timer);
  }

  private onEvent(event: StoreEvent): void {
    if (event.resource === CRD_RESOURCE_KEY) {
      this.onCrd(event);
      return;
    }
    if (event.type === 'DELETED') this.retryCleanups();
  }

  private onCrd(event: StoreEvent): void {
    const crd = event.object;
    const group = getString(crd, ['spec', 'group']) ?? '';
    const plural = getString(crd, ['spec', 'names', 'plural']) ?? '';
    if (event.type === 'DELETED') {
      this.store.registry.unregister(group, plural);
      return;
    }
    if (crd.metadata.deletionTimestamp) {
      this.later(() => this.cleanup(crd.metadata.name ?? ''));
      return;
    }
    const rt = resourceFromCrd(crd);
    this.store.registry.register(rt);
    const wanted = establishedStatus(crd, rt);
    if (
      !isEstablished(crd) ||
      !jsonEqual(getPath(crd, ['status', 'acceptedNames']), wanted.acceptedNames)
    ) {
      this.later(() => this.establish(crd.metadata.name ?? ''));
    }
  }

  private establish(name: string): void {
    const crd = this.crd(name);
    if (!crd || crd.metadata.deletionTimestamp) return;
    this.store.writeStatus(crd, establishedStatus(crd, resourceFromCrd(crd)));
  }

  private retryCleanups(): void {
    const crdType = this.store.registry.get('apiextensions.k8s.io', 'customresourcedefinitions');
    if (!crdType) return;
    for (const crd of this.store.list(crdType, undefined).items) {
      if (crd.metadata.deletionTimestamp) this.later(() => this.cleanup(crd.metadata.name ?? ''));
    }
  }

  private cleanup(name: string): void {
    const crd = this.crd(name);
    const pending = (crd?.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER);
    if (!crd?.metadata.deletionTimestamp || !pending) return;
    const group = getString(crd, ['spec', 'group']) ?? '';
    const rt = this.store.registry.get(group, getString(crd, ['spec', 'names', 'plural']) ?? '');
    if (rt && this.deleteAll(rt) > 0) return;
    const finalizers = (crd.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
    this.store.mergeInto(crd, { metadata: { finalizers } });
  }

  private crd(name: string): KubeObject | undefined {
    const crdType = this.store.registry.get('apiextensions.k8s.io', 'customresourcedefinitions');
    return crdType && this.store.tryGet(crdType, undefined, name);
  }

  /** Deletes every object of a resource; returns how many are still there (finalizers). */
  private deleteAll(rt: ResourceType): number {
    for (const obj of this.store.list(rt, undefined).items) {
      if (!obj.metadata.deletionTimestamp)
        this.store.delete(rt, obj.metadata.namespace, obj.metadata.name ?? '');
    }
    return this.store.list(rt, undefined).items.length;
  }
}
