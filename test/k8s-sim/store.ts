import { clone, type KubeObject } from './types.js';

/** Watch event types the store emits. */
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed change. `previous` is the state before a MODIFIED or DELETED change. */
export interface StoreEvent {
  resource: string;
  type: EventType;
  object: KubeObject;
  previous?: KubeObject;
  rv: number;
}

/** Receives committed events in resourceVersion order. */
export type StoreListener = (event: StoreEvent) => void;

interface History {
  events: StoreEvent[];
  /** A watch may start from any rv ≥ floor; older ones get 410 Gone. */
  floor: number;
}

function notify(listener: StoreListener, event: StoreEvent): void {
  try {
    listener(event);
  } catch (error) {
    // A faulty controller must not stop delivery to watchers.
    console.error('k8s-sim: listener failed', error);
  }
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/**
 * Raw object storage: one table per resource (`plural.group`), a global resourceVersion counter
 * (like an etcd revision), a bounded per-resource event history (like the watch cache) and
 * in-order fan-out to listeners. Knows nothing about API semantics; see {@link SimStore}.
 */
export class ObjectStore {
  private revision = 0;
  private readonly tables = new Map<string, Map<string, KubeObject>>();
  private readonly histories = new Map<string, History>();
  private readonly listeners = new Map<string, Set<StoreListener>>();
  private readonly queue: StoreEvent[] = [];
  private dispatching = false;
  /** Continue tokens minted before this revision are expired. */
  compactedRevision = 0;

  constructor(private readonly historyLimit: number) {}

  /** The latest committed resourceVersion. */
  currentRevision(): number {
    return this.revision;
  }

  /** A copy of one object, or undefined. */
  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.tables.get(resource)?.get(objectKey(namespace, name));
    return found ? clone(found) : undefined;
  }

  /** Copies of all objects of a resource (optionally one namespace), in etcd key order. */
  list(resource: string, namespace?: string): KubeObject[] {
    const table = this.tables.get(resource);
    if (!table) return [];
    return [...table.entries()]
      .filter(([, obj]) => namespace === undefined || obj.metadata.namespace === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => clone(obj));
  }

  /** Names of all resources that have (or had) objects. */
  resources(): string[] {
    return [...this.tables.keys()];
  }

  /** Stores an object under a new resourceVersion and emits ADDED or MODIFIED. */
  put(resource: string, obj: KubeObject): KubeObject {
    const table = this.table(resource);
    const key = objectKey(obj.metadata.namespace, obj.metadata.name ?? '');
    const previous = table.get(key);
    this.revision += 1;
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(this.revision);
    table.set(key, stored);
    this.record({
      resource,
      type: previous ? 'MODIFIED' : 'ADDED',
      object: clone(stored),
      ...(previous ? { previous: clone(previous) } : {}),
      rv: this.revision,
    });
    return clone(stored);
  }

  /** Removes an object and emits DELETED carrying the deletion's resourceVersion. */
  remove(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const table = this.tables.get(resource);
    const key = objectKey(namespace, name);
    const previous = table?.get(key);
    if (!table || !previous) return undefined;
    table.delete(key);
    this.revision += 1;
    const gone = clone(previous);
    gone.metadata.resourceVersion = String(this.revision);
    this.record({ resource, type: 'DELETED', object: clone(gone), previous, rv: this.revision });
    return gone;
  }

  /**
   * Events of a resource after `rv`, or undefined when that point has left the history window
   * (the caller answers 410 Gone).
   */
  eventsAfter(resource: string, rv: number): StoreEvent[] | undefined {
    const history = this.history(resource);
    if (rv < history.floor) return undefined;
    return history.events.filter((e) => e.rv > rv);
  }

  /** The oldest resourceVersion a watch of this resource may start from. */
  oldestWatchable(resource: string): number {
    return this.history(resource).floor;
  }

  /** Drops all retained history: the next watch from any earlier rv gets 410 Gone. */
  compact(): void {
    for (const history of this.histories.values()) {
      history.events = [];
      history.floor = this.revision;
    }
    this.compactedRevision = this.revision;
  }

  /** Subscribes to committed events of one resource, or of all with `*`. Returns unsubscribe. */
  subscribe(resource: string, listener: StoreListener): () => void {
    let set = this.listeners.get(resource);
    if (!set) {
      set = new Set();
      this.listeners.set(resource, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  private table(resource: string): Map<string, KubeObject> {
    let table = this.tables.get(resource);
    if (!table) {
      table = new Map();
      this.tables.set(resource, table);
    }
    return table;
  }

  private history(resource: string): History {
    let history = this.histories.get(resource);
    if (!history) {
      history = { events: [], floor: this.compactedRevision };
      this.histories.set(resource, history);
    }
    return history;
  }

  private record(event: StoreEvent): void {
    const history = this.history(event.resource);
    history.events.push(event);
    while (history.events.length > this.historyLimit) {
      const dropped = history.events.shift();
      if (dropped) history.floor = dropped.rv;
    }
    this.queue.push(event);
    this.drain();
  }

  // Listeners may write (controllers); queueing keeps every listener's view in rv order.
  private drain(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let event = this.queue.shift(); event; event = this.queue.shift()) {
        const targets = [
          ...(this.listeners.get(event.resource) ?? []),
          ...(this.listeners.get('*') ?? []),
        ];
        for (const listener of targets) notify(listener, event);
      }
    } finally {
      this.dispatching = false;
    }
  }
}
