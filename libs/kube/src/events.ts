import { createHash } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';

/** A Kubernetes Event to record on an object. */
export interface KubeEventInput {
  involvedObject: {
    apiVersion: string;
    kind: string;
    name: string;
    namespace?: string;
    uid?: string;
  };
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, e.g. `SnapshotCreated`. */
  reason: string;
  message: string;
  /** The component that reports, e.g. `snapwarden-scheduler`. */
  source: string;
}

/**
 * A stable name for an event: the object's name plus a hash of what happened, so the same event
 * repeated maps to the same object (its count is bumped) and different events never collide.
 */
export function eventName(input: KubeEventInput): string {
  const { involvedObject: o } = input;
  const hash = createHash('sha256')
    .update([o.kind, o.uid ?? '', input.type, input.reason, input.message].join('\u0000'))
    .digest('hex')
    .slice(0, 16);
  return `${o.name.slice(0, 253 - 17)}.${hash}`;
}

/** The core v1 Event object for a first occurrence. */
export function eventBody(input: KubeEventInput, name: string): CoreV1Event {
  const now = new Date();
  const namespace = input.involvedObject.namespace ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace },
    involvedObject: { ...input.involvedObject, namespace },
    type: input.type,
    reason: input.reason,
    message: input.message,
    source: { component: input.source },
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    reportingComponent: input.source,
  };
}
