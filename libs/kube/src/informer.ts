import { EventEmitter } from 'node:events';
import { ObjectCache } from './informer-cache.js';
import type { KubeClient } from './kube-client.js';
import type { ListWatchSource } from './list-watch-source.js';
import { type KubeObject, isKubeObject, isRecord } from './resources.js';

/** Health of an informer, for `/readyz`. */
export interface InformerStatus {
  /** True once a list succeeded and while the watch after it is running. */
  synced: boolean;
  /** Last watch event (bookmarks included) or successful list. */
  lastEventAt?: Date;
  /** Last successful list. */
  lastSyncAt?: Date;
  /** Watches restarted after an error (410 Gone, dropped connection, failed list). */
  restarts: number;
  lastError?: string;
}

/** Backoff between restarts: doubles from `initialMs`, capped at `maxMs` (defaults 500 ms, 30 s). */
export interface InformerOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Asks the server to end each watch after this long (default: random 5–10 min, as client-go),
   * so a silently dead connection is noticed: a watch still open 30 s past it is aborted and
   * restarted.
   */
  watchTimeoutSeconds?: number;
}

type ObjectHandler<T> = (obj: T, old?: T) => void;

/**
 * A list-then-watch cache of one resource collection. Invariants: after `synced` the cache holds
 * exactly what the last list returned plus every watch event since, in order; `add`, `update`
 * and `delete` fire once per change (a relist after a gap reports what changed in between);
 * any watch failure restarts it — from the last resourceVersion, or with a fresh list after
 * 410 Gone — with exponential backoff capped at 30 s, until `stop()`.
 */
export class Informer<T extends KubeObject> {
  private readonly cache = new ObjectCache<T>();
  private readonly emitter = new EventEmitter();
  private readonly state: InformerStatus = { synced: false, restarts: 0 };
  private resourceVersion = '';
  private needsList = true;
  private failures = 0;
  private generation = 0;
  private stopped = true;
  private controller?: AbortController;
  private timer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;

  constructor(
    private readonly client: KubeClient,
    private readonly source: ListWatchSource<T>,
    private readonly options: InformerOptions = {},
  ) {
    this.emitter.setMaxListeners(0);
  }

  on(event: 'add' | 'update' | 'delete', handler: ObjectHandler<T>): this;
  on(event: 'synced', handler: () => void): this;
  on(event: 'error', handler: (error: Error) => void): this;
  on(event: string, handler: (...args: never[]) => void): this {
    // EventEmitter's listener type is untyped; the overloads above carry the real signatures.
    this.emitter.on(event, handler as (...args: unknown[]) => void);
    return this;
  }

  off(
    event: 'add' | 'update' | 'delete' | 'synced' | 'error',
    handler: (...args: never[]) => void,
  ): this {
    this.emitter.off(event, handler as (...args: unknown[]) => void);
    return this;
  }

  /** Starts listing and watching; resolves once the first list is in the cache. */
  async start(): Promise<void> {
    if (this.stopped) {
      this.stopped = false;
      this.schedule(0);
    }
    await this.waitForSync();
  }

  /** Resolves when the cache has been synced once (immediately if it has). */
  waitForSync(): Promise<void> {
    if (this.state.lastSyncAt !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.emitter.once('synced', resolve));
  }

  /** Stops watching; the cache keeps its last contents. */
  stop(): void {
    this.stopped = true;
    this.generation += 1;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    this.controller?.abort();
    this.controller = undefined;
    this.state.synced = false;
  }

  list(namespace?: string): T[] {
    return this.cache.list(namespace);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace, name);
  }

  status(): InformerStatus {
    return { ...this.state };
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), delayMs);
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    const generation = ++this.generation;
    try {
      if (this.needsList) await this.relist();
      if (generation !== this.generation) return;
      const timeoutSeconds =
        this.options.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
      this.armWatchdog(generation, timeoutSeconds);
      this.controller = await this.client.watch(
        this.source.path,
        {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: String(timeoutSeconds),
          labelSelector: this.source.labelSelector,
        },
        (type, object) => this.onEvent(generation, type, object),
        (error) => this.onDone(generation, error),
      );
      if (generation === this.generation && this.state.lastSyncAt !== undefined)
        this.state.synced = true;
    } catch (error) {
      this.onDone(generation, error);
    }
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.source.list();
    const diff = this.cache.replace(items);
    this.resourceVersion = resourceVersion;
    this.needsList = false;
    this.failures = 0;
    const now = new Date();
    Object.assign(this.state, { synced: true, lastSyncAt: now, lastEventAt: now });
    for (const obj of diff.added) this.emit('add', obj);
    for (const { obj, old } of diff.updated) this.emit('update', obj, old);
    for (const obj of diff.deleted) this.emit('delete', obj);
    this.emitter.emit('synced');
  }

  private onEvent(generation: number, type: string, object: unknown): void {
    if (generation !== this.generation) return;
    this.state.lastEventAt = new Date();
    if (type === 'ERROR') {
      this.onWatchError(object);
      return;
    }
    if (!isKubeObject(object)) return;
    const obj = object as T;
    this.resourceVersion = obj.metadata.resourceVersion ?? this.resourceVersion;
    this.failures = 0;
    if (type === 'BOOKMARK') return;
    if (type === 'DELETED') {
      this.emit('delete', this.cache.remove(obj));
      return;
    }
    const old = this.cache.upsert(obj);
    if (old === undefined) this.emit('add', obj);
    else this.emit('update', obj, old);
  }

  private onWatchError(status: unknown): void {
    const code = isRecord(status) && typeof status.code === 'number' ? status.code : undefined;
    const message =
      isRecord(status) && typeof status.message === 'string' ? status.message : 'watch error';
    if (code === 410) this.needsList = true;
    this.state.lastError = code === undefined ? message : `${code} ${message}`;
  }

  private armWatchdog(generation: number, timeoutSeconds: number): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => {
        const controller = this.controller;
        this.onDone(
          generation,
          new Error(`watch still open ${timeoutSeconds + 30}s after its timeout`),
        );
        controller?.abort();
      },
      (timeoutSeconds + 30) * 1000,
    );
  }

  private onDone(generation: number, error?: unknown): void {
    if (generation !== this.generation || this.stopped) return;
    // Whatever this watch still delivers (an abort's callback, late lines) is ignored from here.
    this.generation += 1;
    clearTimeout(this.watchdog);
    this.controller = undefined;
    const failed = error !== undefined && error !== null;
    if (!failed && !this.needsList) {
      // An orderly end (server-side timeout): watch again from where we are.
      this.schedule(0);
      return;
    }
    if (failed) this.state.lastError = describe(error);
    this.state.synced = false;
    this.state.restarts += 1;
    this.failures += 1;
    if (this.emitter.listenerCount('error') > 0) {
      this.emitter.emit('error', new Error(this.state.lastError ?? 'watch failed'));
    }
    this.schedule(this.backoffMs());
  }

  private backoffMs(): number {
    const initial = this.options.initialBackoffMs ?? 500;
    const max = this.options.maxBackoffMs ?? 30_000;
    return Math.min(max, initial * 2 ** Math.max(0, this.failures - 1));
  }

  private emit(event: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    this.emitter.emit(event, obj, old);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}
