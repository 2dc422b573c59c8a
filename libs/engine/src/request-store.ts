import type { Redis } from 'ioredis';
import { APPEND_EVENTS_FUNCTION, LuaScript, type AuditBatch } from '#lib/audit';
import type { RequestPhase, RestoreRequestSpec, SnapshotRequestSpec } from '#lib/policy';

/** Which kind of request a record belongs to. */
export type RequestKind = 'snapshot' | 'restore';

/** What does not change after a request is created. */
export interface RequestIdentity<S> {
  namespace: string;
  name: string;
  spec: S;
  /** Who asked: `api`, `cli`, `kube`… */
  trigger: string;
  createdAt: string;
  /** `metadata.uid` of the custom resource a request came from (kubernetes mode). */
  uid?: string;
}

/** What a request's processing changes over time. */
export interface RequestProgress {
  phase: RequestPhase;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  /** The request failed because its `timeoutSeconds` passed. */
  timedOut?: boolean;
  /** For a rejected restore: the field that broke a rule (`target.size`, `spec.mode`…). */
  field?: string;
  /** For a restore: the claim restored into. */
  claimName?: string;
  /** For a quiesced rollback: its step and workloads, e.g. `ScaledDown: Deployment/web=2`. */
  quiesce?: string;
  /** When the request's snapshots expire (ISO), if they do. */
  expiresAt?: string;
}

/** A stored request: its identity and its progress. */
export type RequestRecord<S> = RequestIdentity<S> & RequestProgress;
export type SnapshotRequestRecord = RequestRecord<SnapshotRequestSpec>;
export type RestoreRecord = RequestRecord<RestoreRequestSpec>;

// Progress is a hash; a final phase is never left again (a late result cannot undo a timeout).
// KEYS: request hash, audit stream (any key when there are no events). ARGV: the phase it must be in ('' for any but a final one),
// stream bound, event count n, n event JSONs, then the progress fields and values. The events
// are appended only when the update is applied.
const UPDATE = new LuaScript(`${APPEND_EVENTS_FUNCTION}
local phase = redis.call('HGET', KEYS[1], 'phase')
if phase == false then return 0 end
if phase == 'Succeeded' or phase == 'Failed' then return 0 end
if ARGV[1] ~= '' and phase ~= ARGV[1] then return 0 end
local events = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], unpack(ARGV, 4 + events))
appendEvents(KEYS[2], ARGV[2], 4, events)
return 1`);

const PROGRESS_FIELDS = [
  'phase',
  'message',
  'startedAt',
  'finishedAt',
  'timedOut',
  'field',
  'claimName',
  'expiresAt',
  'quiesce',
] as const;

// Identity and initial progress in one step: a request exists whole or not at all.
const CREATE = new LuaScript(`
if redis.call('HSETNX', KEYS[1], 'identity', ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'phase', 'Pending', unpack(ARGV, 2))
return 1`);

// Only a request nothing has started on may be taken back (its enqueue failed).
const DISCARD = new LuaScript(`
if redis.call('HGET', KEYS[1], 'phase') ~= 'Pending' then return 0 end
return redis.call('DEL', KEYS[1])`);

/**
 * Snapshot and restore requests in Redis, one hash per request. Creation is atomic and refuses
 * an existing name; once a request reaches `Succeeded` or `Failed` it never changes again.
 */
export class RequestStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /**
   * Stores a new request as `Pending` with `initial` progress, atomically; false when one of
   * that name exists (nothing is written then).
   */
  async create<S>(
    kind: RequestKind,
    identity: RequestIdentity<S>,
    initial: Omit<RequestProgress, 'phase'> = {},
  ): Promise<boolean> {
    const key = this.key(kind, `${identity.namespace}/${identity.name}`);
    const args = [JSON.stringify(identity), ...progressArgs(initial)];
    return (await CREATE.run(this.redis, [key], args)) === 1;
  }

  /** Deletes a request still `Pending` (its enqueue failed); true when deleted. */
  async discard(kind: RequestKind, requestKey: string): Promise<boolean> {
    return (await DISCARD.run(this.redis, [this.key(kind, requestKey)], [])) === 1;
  }

  async get<S>(kind: RequestKind, requestKey: string): Promise<RequestRecord<S> | undefined> {
    const hash = await this.redis.hgetall(this.key(kind, requestKey));
    if (!hash.identity) return undefined;
    const identity = JSON.parse(hash.identity) as RequestIdentity<S>;
    const progress: RequestProgress = { phase: (hash.phase as RequestPhase) ?? 'Pending' };
    for (const field of PROGRESS_FIELDS) {
      const value = hash[field];
      if (value === undefined || field === 'phase') continue;
      if (field === 'timedOut') progress.timedOut = value === 'true';
      else progress[field] = value;
    }
    return { ...identity, ...progress };
  }

  /**
   * Applies `patch` unless the request is final (or missing), or, with `from`, unless it is in
   * that phase; true when applied. `events` (what the change means, e.g. `request.succeeded`
   * with a final phase) are appended in the same atomic step and only when it is applied: a
   * crash can leave neither a final request whose end the log never reports nor an event twice.
   */
  async update(
    kind: RequestKind,
    requestKey: string,
    patch: RequestProgress,
    events?: AuditBatch,
    from?: RequestPhase,
  ): Promise<boolean> {
    const key = this.key(kind, requestKey);
    const entries = events?.entries ?? [];
    const args = [from ?? '', String(events?.maxEvents ?? 0), String(entries.length), ...entries];
    const stream = events?.stream ?? key;
    const applied = await UPDATE.run(this.redis, [key, stream], [...args, ...progressArgs(patch)]);
    return applied === 1;
  }

  private key(kind: RequestKind, requestKey: string): string {
    return `${this.prefix}:request:${kind}:${requestKey}`;
  }
}

function progressArgs(progress: Partial<RequestProgress>): string[] {
  const args: string[] = [];
  for (const [field, value] of Object.entries(progress)) {
    if (value !== undefined) args.push(field, String(value));
  }
  return args;
}
