import type { Logger } from 'pino';
import type { AuditEvent, AuditLog, AuditSubscription } from '#lib/audit';
import {
  RejectedRequestError,
  refusedRequestCrStatus,
  requestStatusDiffers,
  restoreRequestCrStatus,
  snapshotRequestCrStatus,
  type RestoreService,
  type SnapshotRequestService,
} from '#lib/engine';
import { Informer, KubeApiError, type KubeClient, type KubeObject } from '#lib/kube';
import {
  API_VERSION,
  REQUEST_REASON,
  RESTORE_REQUEST_KIND,
  SNAPSHOT_REQUEST_KIND,
  isFinalRequestPhase,
  parseRestoreRequestSpec,
  parseSnapshotRequestSpec,
  type RequestCondition,
  type RequestPhase,
  type RestoreRequestSpec,
  type SnapshotRequestSpec,
  type SpecParseResult,
} from '#lib/policy';
import type { RequestQueues } from '#lib/queues';
import { INFORMER_STALE_AFTER_MS, informerProblem } from '#lib/runtime';
import { KeyedWorkQueue } from './keyed-work-queue.js';

/** A SnapshotRequest or RestoreRequest as the API serves it. */
export interface RequestObject extends KubeObject {
  spec?: unknown;
  status?: { phase?: RequestPhase; conditions?: RequestCondition[]; completionTime?: string };
}

const GROUP = 'snapwarden.io';
const VERSION = 'v1alpha1';

/** What the controller needs to know about one of the two request kinds. */
interface RequestKind<S> {
  kind: typeof SNAPSHOT_REQUEST_KIND | typeof RESTORE_REQUEST_KIND;
  plural: string;
  parse(spec: unknown): SpecParseResult<S>;
  /** Stores a new request; false when the name is taken. */
  create(obj: RequestObject, spec: S): Promise<boolean>;
  /** Queues the request's work (idempotent: deterministic job ids). */
  submit(key: string, spec: S): Promise<void>;
  /** The stored request: who it belongs to, its phase, and the status it implies. */
  load(
    key: string,
    obj: RequestObject,
    now: Date,
  ): Promise<{ uid?: string; phase: RequestPhase; status: object } | undefined>;
}

/** Settings of {@link RequestCrController}. */
export interface RequestCrControllerOptions {
  kube: KubeClient;
  snapshots: SnapshotRequestService;
  restores: RestoreService;
  producer: RequestQueues;
  audit: AuditLog;
  logger: Logger;
  /** Watch one namespace; `undefined` watches every namespace. */
  namespace?: string;
  /** Safety net: unfinished requests are re-read this often (progress normally arrives from the audit log). */
  resyncMs?: number;
  /**
   * How long the audit events of one request are gathered before its status is written (default
   * 500 ms): the steps of a request come in bursts, and each write is an API request.
   */
  progressDelayMs?: number;
  clock?: () => Date;
}

/**
 * Kubernetes mode's SnapshotRequest and RestoreRequest controller. An informer over each kind
 * hands every new object to the same services the REST API uses: the spec is validated (an
 * invalid one ends `Failed`, reason `InvalidSpec`, naming each field, with a Warning Event),
 * the request is stored (trigger `kube`, the object's uid) and queued. Progress flows back
 * from the audit log: each event of a request re-reads it and writes the object's status
 * (phase, per-claim snapshots, times, `Ready` condition) through the status subresource, only
 * when that changes something; a periodic resync covers anything missed. Names are
 * single-use: an object whose name an earlier request (of the API, or a deleted object) has
 * used ends `Failed`, reason `NameTaken` — the earlier request's history stays intact.
 * Several replicas may run this: storing is atomic, queueing idempotent, status writes
 * computed from the same store.
 */
export class RequestCrController {
  private readonly informers: Informer<RequestObject>[] = [];
  private readonly queues: KeyedWorkQueue[] = [];
  private readonly kinds: [RequestKind<unknown>, Informer<RequestObject>, KeyedWorkQueue][] = [];
  private subscription?: AuditSubscription;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly clock: () => Date;

  constructor(private readonly options: RequestCrControllerOptions) {
    this.clock = options.clock ?? (() => new Date());
    for (const kind of [this.snapshotKind(), this.restoreKind()] as RequestKind<unknown>[]) {
      const informer = new Informer<RequestObject>(
        options.kube,
        options.kube.customSource(
          { group: GROUP, version: VERSION, plural: kind.plural },
          options.namespace,
        ),
      );
      const queue = new KeyedWorkQueue(
        (key) => this.reconcile(kind, informer, key),
        (key, error) => this.warn(kind, key, 'reconcile', error),
      );
      const enqueue = (obj: RequestObject) => queue.add(keyOf(obj));
      informer.on('add', enqueue).on('update', enqueue);
      informer.on('error', (error) =>
        options.logger.warn({ err: error.message }, `${kind.kind} watch failed; restarting`),
      );
      this.informers.push(informer);
      this.queues.push(queue);
      this.kinds.push([kind, informer, queue]);
    }
  }

  /** Starts the audit tail, then the informers (their initial lists reconcile every object). */
  async start(): Promise<void> {
    this.subscription = this.options.audit.subscribe((event) => this.onAudit(event), {
      onError: (error) =>
        this.options.logger.warn({ err: String(error) }, 'request status: audit tail failed'),
    });
    await this.subscription.ready;
    if (this.closed) return;
    await Promise.all(this.informers.map((i) => i.start()));
    // Closed while starting: stop what has just started.
    if (this.closed) for (const informer of this.informers) informer.stop();
    else this.timer = setInterval(() => this.resync(), this.options.resyncMs ?? 10_000);
  }

  /** Why this controller is not ready (an informer not synced or stale), if it is not. */
  notReadyReason(): string | undefined {
    const problems = this.kinds
      .map(([kind, informer]) =>
        informerProblem(kind.kind, informer.status(), Date.now(), INFORMER_STALE_AFTER_MS),
      )
      .filter((p) => p !== undefined);
    return problems.length > 0 ? problems.join('; ') : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.subscription?.();
    for (const informer of this.informers) informer.stop();
    await Promise.all(this.queues.map((q) => q.close()));
  }

  /** Re-reads every unfinished request. */
  private resync(): void {
    for (const [, informer, queue] of this.kinds) {
      for (const obj of informer.list()) {
        if (!isFinalRequestPhase(obj.status?.phase)) queue.add(keyOf(obj));
      }
    }
  }

  /** An audit event of a request: its object's status may change (written once per burst). */
  private onAudit(event: AuditEvent): void {
    const attributes = event.attributes ?? {};
    const request = attributes.request;
    const restore = attributes.restore;
    const [snapshotsQueue, restoresQueue] = this.queues;
    const delayMs = this.options.progressDelayMs ?? 500;
    if (typeof request === 'string' && request !== '') {
      const key = request.includes('/') ? request : `${event.namespace}/${request}`;
      snapshotsQueue?.addSoon(key, delayMs);
    }
    if (typeof restore === 'string' && restore !== '' && event.namespace) {
      restoresQueue?.addSoon(`${event.namespace}/${restore}`, delayMs);
    }
  }

  private async reconcile<S>(
    kind: RequestKind<S>,
    informer: Informer<RequestObject>,
    key: string,
  ): Promise<void> {
    const [namespace, name] = splitKey(key);
    const obj = informer.get(namespace, name);
    if (!obj || obj.metadata.deletionTimestamp !== undefined) return;
    if (isFinalRequestPhase(obj.status?.phase)) return;
    const now = this.clock();
    const parsed = kind.parse(obj.spec);
    if (!parsed.ok) {
      await this.refuse(kind, obj, REQUEST_REASON.invalidSpec, parsed.errors, now);
      return;
    }
    let stored: Awaited<ReturnType<typeof this.stored<S>>>;
    try {
      stored = await this.stored(kind, obj, key, parsed.value, now);
    } catch (error) {
      if (!(error instanceof RejectedRequestError)) throw error;
      const detail = [{ field: error.field, message: error.reason }];
      await this.refuse(kind, obj, REQUEST_REASON.invalidSpec, detail, now);
      return;
    }
    if (!stored) return;
    if (stored.uid !== obj.metadata.uid) {
      await this.refuse(kind, obj, REQUEST_REASON.nameTaken, nameTaken(kind, name, stored), now);
      return;
    }
    // Pending: (re)queue. Idempotent, and it heals a crash between storing and queueing.
    if (stored.phase === 'Pending') await kind.submit(key, parsed.value);
    if (await this.write(kind, obj, stored.status)) await this.announce(kind, obj, stored);
  }

  /** A Normal or Warning Event once a request has ended. */
  private async announce(
    kind: RequestKind<unknown>,
    obj: RequestObject,
    stored: { phase: RequestPhase; status: object },
  ): Promise<void> {
    if (!isFinalRequestPhase(stored.phase)) return;
    const message = (stored.status as { message?: string }).message ?? stored.phase;
    if (stored.phase === 'Succeeded') await this.event(kind, obj, 'Normal', 'Succeeded', message);
    else await this.event(kind, obj, 'Warning', 'Failed', message);
  }

  /** The stored request of `obj`, storing and queueing it first when it is new. */
  private async stored<S>(
    kind: RequestKind<S>,
    obj: RequestObject,
    key: string,
    spec: S,
    now: Date,
  ): Promise<Awaited<ReturnType<RequestKind<S>['load']>>> {
    const existing = await kind.load(key, obj, now);
    if (existing) return existing;
    if (await kind.create(obj, spec)) await kind.submit(key, spec);
    // Stored by us, or by another replica that got there first.
    return kind.load(key, obj, now);
  }

  /** Ends a request before any work (invalid spec, name taken), with a Warning Event. */
  private async refuse(
    kind: RequestKind<unknown>,
    obj: RequestObject,
    reason: typeof REQUEST_REASON.invalidSpec | typeof REQUEST_REASON.nameTaken,
    detail: Parameters<typeof refusedRequestCrStatus>[1],
    now: Date,
  ): Promise<void> {
    const status = refusedRequestCrStatus(reason, detail, obj.metadata.generation, now, obj.status);
    if (await this.write(kind, obj, status)) {
      await this.event(kind, obj, 'Warning', reason, status.message ?? '');
    }
  }

  /** Writes `status` when it changes the object's; true when written. */
  private async write(kind: RequestKind<unknown>, obj: RequestObject, status: object) {
    if (!requestStatusDiffers(obj.status, status)) return false;
    try {
      await this.options.kube.patchCustomStatus(
        GROUP,
        VERSION,
        kind.plural,
        obj.metadata.namespace,
        obj.metadata.name,
        { ...status },
      );
      return true;
    } catch (error) {
      // Deleted meanwhile: nothing to report to. Anything else: the next pass writes it again.
      if (!(error instanceof KubeApiError && error.notFound)) {
        this.warn(kind, keyOf(obj), 'patch status', error);
      }
      return false;
    }
  }

  private async event(
    kind: RequestKind<unknown>,
    obj: RequestObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    await this.options.kube
      .createEvent({
        involvedObject: {
          apiVersion: API_VERSION,
          kind: kind.kind,
          name: obj.metadata.name,
          namespace: obj.metadata.namespace,
          uid: obj.metadata.uid,
        },
        type,
        reason,
        message,
        source: 'snapwarden-scheduler',
      })
      .catch((error: unknown) => this.warn(kind, keyOf(obj), 'create event', error));
  }

  private warn(kind: RequestKind<unknown>, key: string, action: string, error: unknown) {
    this.options.logger.warn(
      { request: key, action, err: error instanceof Error ? error.message : String(error) },
      `${kind.kind} ${key}: ${action} failed`,
    );
  }

  private snapshotKind(): RequestKind<SnapshotRequestSpec> {
    const { snapshots, producer } = this.options;
    return {
      kind: SNAPSHOT_REQUEST_KIND,
      plural: 'snapshotrequests',
      parse: parseSnapshotRequestSpec,
      create: (obj, spec) =>
        snapshots.create({ ...identityOf(obj), spec, trigger: 'kube', uid: obj.metadata.uid }),
      submit: (key, spec) => producer.submitRequest(key, spec.timeoutSeconds * 1000),
      load: async (key, obj, now) => {
        const request = await snapshots.status(key);
        if (!request) return undefined;
        const current = obj.status as Parameters<typeof snapshotRequestCrStatus>[3];
        return {
          uid: request.uid,
          phase: request.phase,
          status: snapshotRequestCrStatus(request, obj.metadata.generation, now, current),
        };
      },
    };
  }

  private restoreKind(): RequestKind<RestoreRequestSpec> {
    const { restores, producer } = this.options;
    return {
      kind: RESTORE_REQUEST_KIND,
      plural: 'restorerequests',
      parse: parseRestoreRequestSpec,
      create: (obj, spec) =>
        restores.create({ ...identityOf(obj), spec, trigger: 'kube', uid: obj.metadata.uid }),
      submit: (key) => producer.submitRestore(key),
      load: async (key, obj, now) => {
        const record = await restores.status(key);
        if (!record) return undefined;
        const current = obj.status as Parameters<typeof restoreRequestCrStatus>[3];
        return {
          uid: record.uid,
          phase: record.phase,
          status: restoreRequestCrStatus(record, obj.metadata.generation, now, current),
        };
      },
    };
  }
}

function nameTaken(kind: RequestKind<unknown>, name: string, stored: { uid?: string }): string {
  const owner = stored.uid ? `uid ${stored.uid}` : 'submitted through the REST API';
  return (
    `name ${name} was already used by another ${kind.kind} (${owner}); ` +
    'names are single-use, pick a new one (or use metadata.generateName)'
  );
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
}

function identityOf(obj: KubeObject): { namespace: string; name: string } {
  return { namespace: obj.metadata.namespace ?? 'default', name: obj.metadata.name };
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
