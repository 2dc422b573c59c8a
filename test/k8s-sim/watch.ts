import type { IncomingMessage, ServerResponse } from 'node:http';
import { expired } from './errors.js';
import type { FaultInjector } from './faults.js';
import { atVersion, renderObject, type RenderOptions } from './present.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { matchesFilter, type ObjectFilter } from './selectors.js';
import type { SimStore } from './sim-store.js';
import type { EventType, StoreEvent } from './store.js';
import type { KubeObject } from './types.js';

/** Parameters of one watch request. */
export interface WatchRequest {
  rt: ResourceType;
  version: string;
  filter: ObjectFilter;
  resourceVersion?: string;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds?: number;
  render: RenderOptions;
}

/** Server-wide watch settings. */
export interface WatchSettings {
  bookmarkIntervalMs: number;
}

type Emit = (type: EventType | 'BOOKMARK' | 'ERROR', object: unknown) => void;

/** Maps a store event to what a filtered watcher sees (selector transitions become ADDED/DELETED). */
export function filteredEvent(
  rt: ResourceType,
  filter: ObjectFilter,
  event: StoreEvent,
): EventType | undefined {
  const now = matchesFilter(rt, event.object, filter);
  const before = event.previous !== undefined && matchesFilter(rt, event.previous, filter);
  switch (event.type) {
    case 'ADDED':
      return now ? 'ADDED' : undefined;
    case 'DELETED':
      return before || now ? 'DELETED' : undefined;
    case 'MODIFIED':
      if (now && before) return 'MODIFIED';
      if (now) return 'ADDED';
      return before ? 'DELETED' : undefined;
  }
}

function startingEvents(store: SimStore, request: WatchRequest, emit: Emit): boolean {
  const { rt, filter } = request;
  const rv = request.resourceVersion;
  if (rv === undefined || rv === '' || rv === '0' || request.sendInitialEvents) {
    for (const obj of store.list(rt, filter.namespace).items) {
      if (matchesFilter(rt, obj, filter)) emit('ADDED', obj);
    }
    if (request.sendInitialEvents && request.allowBookmarks) {
      emit('BOOKMARK', {
        kind: rt.kind,
        apiVersion: apiVersionOf(rt.group, request.version),
        metadata: {
          resourceVersion: String(store.objects.currentRevision()),
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      });
    }
    return true;
  }
  const history = store.objects.eventsAfter(store.key(rt), Number(rv));
  if (history === undefined) {
    const oldest = store.objects.oldestWatchable(store.key(rt));
    emit('ERROR', expired(`too old resource version: ${rv} (${oldest + 1})`).toStatus());
    return false;
  }
  for (const event of history) {
    const type = filteredEvent(rt, filter, event);
    if (type) emit(type, event.object);
  }
  return true;
}

/** What a watch stream needs from the server. */
export interface WatchDeps {
  store: SimStore;
  faults: FaultInjector;
  settings: WatchSettings;
}

/**
 * Serves a watch as the API server does: 200 with newline-delimited JSON events; initial ADDED
 * events when no resourceVersion is given, replay from history otherwise (an ERROR event with a
 * 410 Expired Status when it is too old), BOOKMARKs when allowed, and an orderly end after
 * `timeoutSeconds`.
 */
export function serveWatch(
  http: { req: IncomingMessage; res: ServerResponse },
  deps: WatchDeps,
  request: WatchRequest,
): void {
  new WatchStream(http.res, deps, request).start(http.req);
}

class WatchStream {
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly deps: WatchDeps,
    private readonly request: WatchRequest,
  ) {}

  start(req: IncomingMessage): void {
    const { res, deps, request } = this;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    // Subscribing and replaying happen in one synchronous step, so no event falls in between.
    this.cleanups.push(
      deps.store.objects.subscribe(deps.store.key(request.rt), (event) => this.deliver(event)),
    );
    if (!startingEvents(deps.store, request, this.emit)) {
      this.finish(false);
      return;
    }
    this.cleanups.push(deps.faults.trackWatch((abrupt) => this.finish(abrupt)));
    if (request.allowBookmarks) this.every(deps.settings.bookmarkIntervalMs, () => this.bookmark());
    if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0) {
      const timer = setTimeout(() => this.finish(false), request.timeoutSeconds * 1000);
      this.cleanups.push(() => clearTimeout(timer));
    }
    const onClose = (): void => this.cleanup();
    req.on('close', onClose);
    res.on('close', onClose);
  }

  private readonly emit: Emit = (type, object) => {
    const payload =
      type === 'ERROR' || type === 'BOOKMARK'
        ? object
        : present(this.request, object as KubeObject);
    this.res.write(`${JSON.stringify({ type, object: payload })}\n`);
  };

  private deliver(event: StoreEvent): void {
    const type = filteredEvent(this.request.rt, this.request.filter, event);
    if (type) this.emit(type, event.object);
  }

  private bookmark(): void {
    const { rt, version } = this.request;
    const resourceVersion = String(this.deps.store.objects.currentRevision());
    this.emit('BOOKMARK', {
      kind: rt.kind,
      apiVersion: apiVersionOf(rt.group, version),
      metadata: { resourceVersion },
    });
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    this.cleanups.push(() => clearInterval(timer));
  }

  private cleanup(): void {
    this.cleanups.splice(0).forEach((fn) => fn());
  }

  private finish(abrupt: boolean): void {
    this.cleanup();
    if (abrupt) this.res.destroy();
    else this.res.end();
  }
}

function present(request: WatchRequest, obj: KubeObject): unknown {
  const { rt, version, render } = request;
  if (render.negotiated.as) return renderObject(rt, version, obj, render);
  return atVersion(rt, version, obj);
}
