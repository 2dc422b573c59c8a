import { ApiError } from './errors.js';
import type { ObjectStore } from './store.js';

/** Status codes {@link FaultInjector.failNext} can inject. */
export type FaultStatus = 409 | 429 | 500 | 503;

/** A rule that fails the next matching requests. */
export interface FailRule {
  /** Kubernetes verb to match (`list`, `create`, …); any when omitted. */
  verb?: string;
  /** Plural resource to match (`volumesnapshots`, or `volumesnapshots/status`); any when omitted. */
  resource?: string;
  namespace?: string;
  name?: string;
  status: FaultStatus;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** For 429 and 503: sent as `Retry-After` and `details.retryAfterSeconds`. */
  retryAfterSeconds?: number;
  message?: string;
  /** The Status `reason` (default: the status code's, e.g. `Conflict`; `AlreadyExists` for a 409 on create). */
  reason?: string;
}

/** What a request is, for fault matching. */
export interface FaultTarget {
  verb: string;
  resource?: string;
  namespace?: string;
  name?: string;
}

interface LatencyRule {
  ms: number;
  verb?: string;
  resource?: string;
}

const REASONS: Record<FaultStatus, string> = {
  409: 'Conflict',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

const MESSAGES: Record<FaultStatus, string> = {
  409: 'Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again',
  429: 'Too many requests, please try again later.',
  500: 'Internal error occurred: injected by k8s-sim',
  503: 'the server is currently unable to handle the request',
};

function matches(
  rule: { verb?: string; resource?: string; namespace?: string; name?: string },
  target: FaultTarget,
): boolean {
  if (rule.verb !== undefined && rule.verb !== target.verb) return false;
  if (rule.resource !== undefined && rule.resource !== target.resource) return false;
  if (rule.namespace !== undefined && rule.namespace !== target.namespace) return false;
  return rule.name === undefined || rule.name === target.name;
}

/**
 * Fault injection for resilience tests: failing requests (5xx, 429 with Retry-After, 409),
 * dropped watch streams, latency, forced watch-history compaction (410 Gone) and objects stuck
 * in Terminating. {@link reset} clears everything except compaction, which cannot be undone.
 */
export class FaultInjector {
  private rules: (FailRule & { remaining: number })[] = [];
  private latencies: LatencyRule[] = [];
  private readonly watches = new Set<(abrupt: boolean) => void>();
  private readonly stuck = new Set<string>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly objects: ObjectStore) {}

  /** Fails the next `times` requests matching the rule (resource requests only). */
  failNext(rule: FailRule): void {
    this.rules.push({ ...rule, remaining: rule.times ?? 1 });
  }

  /**
   * Closes every open watch stream and returns how many. `abrupt` (default) destroys the socket
   * mid-stream, as an API server restart or a network cut does (client-node reports "Premature
   * close" as an informer `error`); `graceful` ends the response like a server-side watch timeout
   * (informers re-watch on their own).
   */
  dropWatches(mode: 'abrupt' | 'graceful' = 'abrupt'): number {
    const closers = [...this.watches];
    this.watches.clear();
    closers.forEach((close) => close(mode === 'abrupt'));
    return closers.length;
  }

  /** Delays every matching request (all when no filter) by `ms` before it is handled. */
  latency(ms: number, filter: { verb?: string; resource?: string } = {}): void {
    this.latencies = this.latencies.filter(
      (l) => l.verb !== filter.verb || l.resource !== filter.resource,
    );
    if (ms > 0) this.latencies.push({ ms, ...filter });
  }

  /** Forgets retained watch history: the next watch from an earlier resourceVersion gets 410. */
  compactHistory(): void {
    this.objects.compact();
  }

  /**
   * Keeps an object in Terminating: the simulator's controllers never remove their finalizers
   * from it. Applies to VolumeSnapshots (`namespace` given) and VolumeSnapshotContents.
   */
  stickTerminating(name: string, namespace?: string): void {
    this.stuck.add(`${namespace ?? ''}/${name}`);
  }

  /** Lets a stuck object finish deleting (controllers pick it up on their next pass). */
  unstick(name: string, namespace?: string): void {
    this.stuck.delete(`${namespace ?? ''}/${name}`);
    this.listeners.forEach((fn) => fn());
  }

  /** True when controllers must leave this object's finalizers alone. */
  isStuck(name: string, namespace?: string): boolean {
    return this.stuck.has(`${namespace ?? ''}/${name}`);
  }

  /** Clears failure rules, latency and stuck objects. */
  reset(): void {
    this.rules = [];
    this.latencies = [];
    this.stuck.clear();
    this.listeners.forEach((fn) => fn());
  }

  /** Called when stuck objects are released, so controllers can finish them. */
  onRelease(fn: () => void): void {
    this.listeners.add(fn);
  }

  /** Registers an open watch; returns the function to call when it ends. */
  trackWatch(close: (abrupt: boolean) => void): () => void {
    this.watches.add(close);
    return () => this.watches.delete(close);
  }

  /** The injected failure for this request, consuming one use of the first matching rule. */
  takeFailure(target: FaultTarget): ApiError | undefined {
    const rule = this.rules.find((r) => r.remaining > 0 && matches(r, target));
    if (!rule) return undefined;
    rule.remaining -= 1;
    this.rules = this.rules.filter((r) => r.remaining > 0);
    const retry = rule.retryAfterSeconds;
    const headers: Record<string, string> =
      retry !== undefined ? { 'Retry-After': String(retry) } : {};
    return new ApiError(
      rule.status,
      rule.reason ?? REASONS[rule.status],
      rule.message ?? MESSAGES[rule.status],
      retry !== undefined ? { retryAfterSeconds: retry } : undefined,
      headers,
    );
  }

  /** Total injected latency for this request. */
  delayFor(target: FaultTarget): number {
    return this.latencies.filter((l) => matches(l, target)).reduce((sum, l) => sum + l.ms, 0);
  }
}
