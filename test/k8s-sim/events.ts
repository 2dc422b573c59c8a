import type { SimStore } from './sim-store.js';
import { type KubeObject, rfc3339 } from './types.js';

/** `Normal` or `Warning`, as core v1 Events classify themselves. */
export type EventType = 'Normal' | 'Warning';

/**
 * Emits core/v1 Events the way client-go's event recorder does: one object per distinct
 * (object, reason, message), with `count` and `lastTimestamp` bumped on repeats. Events about
 * cluster-scoped objects go to the `default` namespace.
 */
export class EventRecorder {
  constructor(
    private readonly store: SimStore,
    private readonly component: string,
  ) {}

  /** Records an event about `about`; like client-go's recorder it never fails the caller. */
  record(about: KubeObject, type: EventType, reason: string, message: string): void {
    try {
      this.write(about, type, reason, message);
    } catch {
      // e.g. the namespace is terminating: events are best effort.
    }
  }

  private write(about: KubeObject, type: EventType, reason: string, message: string): void {
    const rt = this.store.registry.get('', 'events');
    if (!rt) return;
    const namespace = about.metadata.namespace ?? 'default';
    const involvedObject = {
      kind: about.kind,
      namespace: about.metadata.namespace,
      name: about.metadata.name,
      uid: about.metadata.uid,
      apiVersion: about.apiVersion,
      resourceVersion: about.metadata.resourceVersion,
    };
    const now = rfc3339();
    const existing = this.store
      .list(rt, namespace, {
        fieldSelector: `involvedObject.uid=${about.metadata.uid ?? ''},reason=${reason}`,
      })
      .items.find((e) => e.message === message);
    if (existing) {
      const count = typeof existing.count === 'number' ? existing.count + 1 : 2;
      this.store.commitUpdate(rt, existing, {
        ...existing,
        count,
        lastTimestamp: now,
        involvedObject,
      });
      return;
    }
    const name = `${about.metadata.name ?? 'object'}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
    this.store.create(rt, namespace, {
      metadata: { name, namespace },
      involvedObject,
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: `${this.component}-k8s-sim`,
    });
  }
}
