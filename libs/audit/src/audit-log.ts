import type { Redis } from 'ioredis';
import type { AuditEvent, AuditEventInput } from './audit-event.js';
import {
  prepareEvent,
  toStreamFields,
  toStreamJson,
  type UnsavedAuditEvent,
} from './audit-codec.js';
import { type AuditFilter, planAuditQuery } from './audit-filter.js';
import { APPEND_EVENTS } from './audit-scripts.js';
import { scanStream } from './audit-scan.js';
import {
  type AuditListener,
  type AuditSubscribeOptions,
  type AuditSubscription,
  AuditTail,
} from './audit-tail.js';
import { AuditUnavailableError } from './errors.js';
import { auditKeys } from './keys.js';
import type { Page } from './page.js';
import { DEFAULT_SCAN_BUDGET, type ScanBudget } from './paged-scan.js';

/** Options of {@link AuditLog}. */
export interface AuditLogOptions {
  /** Key prefix, e.g. `snapwarden:`; the stream is `<prefix>audit`. */
  prefix: string;
  /** Approximate bound on the stream length, enforced on every append (default 100 000). */
  maxEvents?: number;
  /** Age past which {@link AuditLog.trim} drops events (default 30 days; `Infinity` keeps them). */
  maxAgeMs?: number;
  /** Scan work per query (defaults: 250 entries a batch, 20 batches). */
  scan?: Partial<ScanBudget>;
}

const DAY_MS = 86_400_000;

/**
 * Events ready to be written by a script of another store in the same atomic step as what
 * they report (see `RunStore.applyVolumeResult`): the stream, its bound, one JSON per event.
 */
export interface AuditBatch {
  stream: string;
  maxEvents: number;
  entries: string[];
}

/**
 * `run.finished` prepared for the script that closes the run, which completes it and appends it
 * in the same atomic step (see `RunStore.applyVolumeResult`): a crash between closing the run
 * and announcing it could otherwise leave a finished run that the log never reports, and the
 * job's retry finds the run closed. `fields` is the event's JSON without what only the closing
 * step knows: its outcome, time, duration and the message with the run's counts.
 */
export interface RunEndAnnouncement {
  stream: string;
  maxEvents: number;
  fields: string;
}

/** Who and what a run's closing event names (see {@link AuditLog.runEnd}). */
export interface RunEndRef {
  runId: string;
  trigger: string;
  namespace: string;
  policy?: string;
}

/**
 * The audit log: an append-only, size-bounded Redis stream of {@link AuditEvent}s (invariant 6:
 * every state change is an event). Appends never block on readers; queries page by stream id;
 * live tails see each new event once, in order.
 *
 * Writers should use a client with a small `maxRetriesPerRequest` (see `AUDIT_REDIS_OPTIONS`):
 * then an unreachable Redis makes `append` reject with {@link AuditUnavailableError} instead of
 * waiting forever. The caller owns `redis`; {@link close} closes only the live tails.
 */
export class AuditLog {
  private readonly key: string;
  private readonly maxEvents: number;
  private readonly maxAgeMs: number;
  private readonly budget: ScanBudget;
  private readonly tails = new Set<AuditTail>();

  constructor(
    private readonly redis: Redis,
    options: AuditLogOptions,
  ) {
    this.key = auditKeys.stream(options.prefix);
    this.maxEvents = options.maxEvents ?? 100_000;
    this.maxAgeMs = options.maxAgeMs ?? 30 * DAY_MS;
    this.budget = { ...DEFAULT_SCAN_BUDGET, ...options.scan };
  }

  /**
   * Stores one event (XADD with `MAXLEN ~ maxEvents`) and returns it with its id.
   * @throws AuditUnavailableError when Redis does not take the write.
   */
  async append(input: AuditEventInput): Promise<AuditEvent> {
    const event = prepareEvent(input, new Date());
    try {
      const id = await this.redis.xadd(this.key, ...this.xaddArgs(event));
      if (id === null) throw new Error('XADD returned no id');
      return { id, ...event };
    } catch (error) {
      throw this.unavailable(`could not append ${input.type} event`, error);
    }
  }

  /**
   * Stores several events in one round trip, all or none (one script), in the given order.
   * @throws AuditUnavailableError when Redis does not take the write.
   */
  async appendMany(inputs: readonly AuditEventInput[]): Promise<AuditEvent[]> {
    if (inputs.length === 0) return [];
    const now = new Date();
    const events = inputs.map((input) => prepareEvent(input, now));
    const args = [String(this.maxEvents), ...events.map(toStreamJson)];
    try {
      const ids = await APPEND_EVENTS.run(this.redis, [this.key], args);
      if (!Array.isArray(ids) || ids.length !== events.length)
        throw new Error('XADD returned no id');
      return events.map((event, index) => ({ id: String(ids[index]), ...event }));
    } catch (error) {
      throw this.unavailable(`could not append ${inputs.length} events`, error);
    }
  }

  /**
   * Prepares events for a write that another store's script performs (see {@link AuditBatch}),
   * their time fixed now; `undefined` when there are none.
   */
  batch(inputs: readonly AuditEventInput[], now: Date = new Date()): AuditBatch | undefined {
    if (inputs.length === 0) return undefined;
    return {
      stream: this.key,
      maxEvents: this.maxEvents,
      entries: inputs.map((input) => toStreamJson(prepareEvent(input, now))),
    };
  }

  /** `run.finished` of the run `ref` names, for the script that closes it to complete. */
  runEnd(ref: RunEndRef): RunEndAnnouncement {
    const fields: Record<string, string> = { type: 'run.finished', trigger: ref.trigger };
    if (ref.policy !== undefined) fields.policy = ref.policy;
    fields.namespace = ref.namespace;
    fields.runId = ref.runId;
    return { stream: this.key, maxEvents: this.maxEvents, fields: JSON.stringify(fields) };
  }

  /**
   * Lists events matching `filter`, newest first unless `order: 'asc'`. Reads at most the scan
   * budget per call; a short page with `nextCursor` means "keep going".
   * @throws InvalidQueryError for a malformed cursor or an invalid time.
   */
  async query(filter: AuditFilter = {}): Promise<Page<AuditEvent>> {
    const plan = planAuditQuery(filter);
    if (!plan.satisfiable) return { items: [] };
    return scanStream(this.redis, this.key, plan, this.budget);
  }

  /** Drops events recorded before `now - maxAgeMs` (XTRIM MINID ~); returns how many went. */
  async trim(now: Date): Promise<number> {
    if (!Number.isFinite(this.maxAgeMs)) return 0;
    const cutoff = Math.max(0, now.getTime() - this.maxAgeMs);
    return this.redis.xtrim(this.key, 'MINID', '~', `${cutoff}-0`);
  }

  /**
   * Live tail for server-sent events: each event appended after the tail is in place (or
   * after `options.after`) reaches `listener` once, in order, over a dedicated connection.
   * Call the returned function to stop it and close that connection.
   * @throws InvalidQueryError when `options.after` is not a stream id.
   */
  subscribe(listener: AuditListener, options: AuditSubscribeOptions = {}): AuditSubscription {
    const tail = new AuditTail(this.redis, this.key, listener, options);
    this.tails.add(tail);
    const unsubscribe = (): void => {
      this.tails.delete(tail);
      tail.stop();
    };
    return Object.assign(unsubscribe, { ready: tail.ready });
  }

  /** Stops every live tail. The shared `redis` client stays open (its owner closes it). */
  close(): Promise<void> {
    for (const tail of this.tails) tail.stop();
    this.tails.clear();
    return Promise.resolve();
  }

  private xaddArgs(event: UnsavedAuditEvent): string[] {
    return ['MAXLEN', '~', String(this.maxEvents), '*', ...toStreamFields(event)];
  }

  private unavailable(what: string, error: unknown): AuditUnavailableError {
    const reason = error instanceof Error ? error.message : String(error);
    return new AuditUnavailableError(`audit log unavailable: ${what}: ${reason}`, {
      cause: error,
    });
  }
}
