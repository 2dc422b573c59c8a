import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LuaScript } from '#lib/audit';
import type { BackupPolicy, FieldError } from '#lib/policy';

// Moves a policy's "last tick handled" forward (never back) and returns what it was.
const ADVANCE_TICK = new LuaScript(`
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous == false or tonumber(previous) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return previous`);

/**
 * How long the scheduler's view of the stored policies (see {@link PolicyStore.current}) is
 * trusted without a full read, against edits of the policies hash made outside every store.
 */
const VIEW_MAX_AGE_MS = 10 * 60_000;

/** A valid policy as the scheduler last applied it. */
export interface StoredPolicy {
  /** `namespace/name`. */
  key: string;
  /** Stable identity: metadata.uid in Kubernetes, a hash of the key for policy files. */
  uid: string;
  policy: BackupPolicy;
  /** Hash of the spec; ticks carry it so that a stale tick can be recognised. */
  specHash: string;
  /** Where it came from: `file:<path>` or `kubernetes`. */
  source: string;
  appliedAt: string;
}

/** A policy source that failed validation, with the fields at fault. */
export interface PolicyProblem {
  source: string;
  key?: string;
  errors: FieldError[];
  seenAt: string;
  /** When the source first failed with these same errors (kept across passes). */
  since?: string;
}

/** Keys by parsed policy, like {@link specHashOf}. */
const policyKeys = new WeakMap<BackupPolicy, string>();

/** Key of a policy: `namespace/name`. */
export function policyKeyOf(policy: BackupPolicy): string {
  let key = policyKeys.get(policy);
  if (key === undefined) {
    key = `${policy.metadata.namespace ?? 'default'}/${policy.metadata.name}`;
    policyKeys.set(policy, key);
  }
  return key;
}

/** Spec hashes by parsed spec: a resync compares the same parsed policies again and again. */
const specHashes = new WeakMap<BackupPolicy['spec'], string>();

/** Hash of what changes a policy's behaviour (its spec). A parsed policy is never changed. */
export function specHashOf(policy: BackupPolicy): string {
  let hash = specHashes.get(policy.spec);
  if (hash === undefined) {
    hash = createHash('sha256').update(JSON.stringify(policy.spec)).digest('hex').slice(0, 16);
    specHashes.set(policy.spec, hash);
  }
  return hash;
}

function storedPolicyOf(policy: BackupPolicy, source: string, now: Date): StoredPolicy {
  const key = policyKeyOf(policy);
  return {
    key,
    uid: policy.metadata.uid ?? createHash('sha256').update(key).digest('hex').slice(0, 12),
    policy,
    specHash: specHashOf(policy),
    source,
    appliedAt: now.toISOString(),
  };
}

/** The generation a write transaction ended with (its last reply); throws for a failed one. */
function generationOf(replies: [Error | null, unknown][] | null): number {
  const failed = replies?.find(([error]) => error !== null);
  if (!replies || failed) throw failed?.[0] ?? new Error('policy write aborted');
  return Number(replies.at(-1)?.[1]);
}

/**
 * The policies in force, shared by every replica through Redis. The scheduler role writes it
 * from the policy source (files or custom resources); workers and the API read it.
 */
export class PolicyStore {
  private readonly cache = new Map<string, { at: number; value: StoredPolicy | undefined }>();
  /** The stored policies as of `generation` (see {@link current}). */
  private view?: { generation: number; readAt: number; policies: Map<string, StoredPolicy> };
  /** The scheduler fingerprints as of `generation` (see {@link schedulerFingerprints}). */
  private fingerprints?: { generation: number; map: Map<string, string> };

  /**
   * @param cacheMs how long `get` may answer from this process's memory. Every snapshot job
   * reads its policy; a second of staleness after an edit is harmless, the round trip is not.
   */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly cacheMs = 0,
  ) {}

  async put(policy: BackupPolicy, source: string, now: Date): Promise<StoredPolicy> {
    const key = policyKeyOf(policy);
    const stored: StoredPolicy = {
      key,
      uid: policy.metadata.uid ?? createHash('sha256').update(key).digest('hex').slice(0, 12),
      policy,
      specHash: specHashOf(policy),
      source,
      appliedAt: now.toISOString(),
    };
    const replies = await this.redis
      .multi()
      .hset(this.policiesKey, key, JSON.stringify(stored))
      .hdel(this.removedKey, key)
      .incr(this.generationKey)
      .exec();
    this.cache.delete(key);
    this.followWrite(generationOf(replies), (view) => view.set(key, stored));
    return stored;
  }

  /** Stores several policies at once: one transaction, all or none. */
  async putMany(
    entries: readonly { policy: BackupPolicy; source: string }[],
    now: Date,
  ): Promise<StoredPolicy[]> {
    if (entries.length === 0) return [];
    const stored = entries.map(({ policy, source }) => storedPolicyOf(policy, source, now));
    const fields = new Map(stored.map((s) => [s.key, JSON.stringify(s)] as const));
    const replies = await this.redis
      .multi()
      .hset(this.policiesKey, fields)
      .hdel(this.removedKey, ...fields.keys())
      .incr(this.generationKey)
      .exec();
    const generation = generationOf(replies);
    for (const s of stored) this.cache.delete(s.key);
    this.followWrite(generation, (view) => {
      for (const s of stored) view.set(s.key, s);
    });
    return stored;
  }

  /**
   * The stored policies by key, for the scheduler's resync: kept in this process and read in
   * full only when they changed since (a write through any store bumps a generation; the count
   * tells a field added or deleted behind the stores' back), or every few minutes, for an edit
   * made behind their back. One round trip otherwise. The map is shared: do not change it.
   */
  async current(): Promise<ReadonlyMap<string, StoredPolicy>> {
    if (await this.viewHolds()) return this.view!.policies;
    const replies = await this.redis.multi().get(this.generationKey).hvals(this.policiesKey).exec();
    const failed = replies?.find(([error]) => error !== null);
    if (!replies || failed) throw failed?.[0] ?? new Error('policy read aborted');
    const policies = new Map<string, StoredPolicy>();
    for (const raw of replies[1]?.[1] as string[]) {
      const stored = JSON.parse(raw) as StoredPolicy;
      policies.set(stored.key, stored);
    }
    this.view = { generation: Number(replies[0]?.[1] ?? 0), readAt: Date.now(), policies };
    return policies;
  }

  /** The view is recent and neither the generation nor the count has moved since. */
  private async viewHolds(): Promise<boolean> {
    const view = this.view;
    if (!view || Date.now() - view.readAt >= VIEW_MAX_AGE_MS) return false;
    const [generation, count] = await Promise.all([
      this.redis.get(this.generationKey),
      this.redis.hlen(this.policiesKey),
    ]);
    return (
      this.view === view && Number(generation) === view.generation && count === view.policies.size
    );
  }

  /**
   * Applies this store's own write to the view when it is the only write since the view was
   * read (the generation moved by one); any other write makes the next `current` read in full.
   */
  private followWrite(generation: number, apply: (view: Map<string, StoredPolicy>) => void) {
    const view = this.view;
    if (view && generation === view.generation + 1) {
      apply(view.policies);
      view.generation = generation;
    } else {
      this.view = undefined;
    }
    // Both views follow the one generation: the other one is a write behind.
    if (this.fingerprints?.generation === generation - 1) this.fingerprints.generation = generation;
    else this.fingerprints = undefined;
  }

  /** {@link followWrite} for the scheduler fingerprints. */
  private followFingerprints(generation: number, apply: (map: Map<string, string>) => void) {
    const kept = this.fingerprints;
    if (kept && generation === kept.generation + 1) {
      apply(kept.map);
      kept.generation = generation;
    } else {
      this.fingerprints = undefined;
    }
    if (this.view?.generation === generation - 1) this.view.generation = generation;
    else this.view = undefined;
  }

  /**
   * What each policy's job scheduler was last made from (see `PolicyReconciler`), so that a
   * resync upserts only the schedulers whose arguments changed. Kept in this process like
   * {@link current}: read in full only when the generation or the count moved. Do not change it.
   */
  async schedulerFingerprints(): Promise<ReadonlyMap<string, string>> {
    if (await this.fingerprintsHold()) return this.fingerprints!.map;
    const replies = await this.redis
      .multi()
      .get(this.generationKey)
      .hgetall(this.schedulersKey)
      .exec();
    const failed = replies?.find(([error]) => error !== null);
    if (!replies || failed) throw failed?.[0] ?? new Error('fingerprint read aborted');
    const map = new Map(Object.entries(replies[1]?.[1] as Record<string, string>));
    this.fingerprints = { generation: Number(replies[0]?.[1] ?? 0), map };
    return map;
  }

  /** Neither the generation nor the count of the fingerprints has moved since they were read. */
  private async fingerprintsHold(): Promise<boolean> {
    const kept = this.fingerprints;
    if (!kept) return false;
    const [generation, count] = await Promise.all([
      this.redis.get(this.generationKey),
      this.redis.hlen(this.schedulersKey),
    ]);
    return (
      this.fingerprints === kept &&
      Number(generation) === kept.generation &&
      count === kept.map.size
    );
  }

  async recordSchedulerFingerprints(entries: readonly [key: string, fingerprint: string][]) {
    if (entries.length === 0) return;
    const replies = await this.redis
      .multi()
      .hset(this.schedulersKey, new Map(entries))
      .incr(this.generationKey)
      .exec();
    this.followFingerprints(generationOf(replies), (map) => {
      for (const [key, fingerprint] of entries) map.set(key, fingerprint);
    });
  }

  async forgetSchedulerFingerprints(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const replies = await this.redis
      .multi()
      .hdel(this.schedulersKey, ...keys)
      .incr(this.generationKey)
      .exec();
    this.followFingerprints(generationOf(replies), (map) => {
      for (const key of keys) map.delete(key);
    });
  }

  async get(key: string): Promise<StoredPolicy | undefined> {
    const now = Date.now();
    const cached = this.cache.get(key);
    if (cached && now - cached.at < this.cacheMs) return cached.value;
    const raw = await this.redis.hget(this.policiesKey, key);
    const value = raw ? (JSON.parse(raw) as StoredPolicy) : undefined;
    if (this.cacheMs > 0) this.cache.set(key, { at: now, value });
    return value;
  }

  async list(): Promise<StoredPolicy[]> {
    const all = await this.redis.hvals(this.policiesKey);
    return all
      .map((raw) => JSON.parse(raw) as StoredPolicy)
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  /** The keys (`namespace/name`) of every stored policy, unordered. */
  async keys(): Promise<string[]> {
    return this.redis.hkeys(this.policiesKey);
  }

  /** Removes a policy, remembering it until cleanup has applied its `deletionPolicy`. */
  async remove(key: string): Promise<boolean> {
    this.cache.delete(key);
    const raw = await this.redis.hget(this.policiesKey, key);
    if (raw) await this.redis.hset(this.removedKey, key, raw);
    const replies = await this.redis
      .multi()
      .hdel(this.policiesKey, key)
      .incr(this.generationKey)
      .exec();
    this.followWrite(generationOf(replies), (view) => view.delete(key));
    return replies?.[0]?.[1] === 1;
  }

  /** Removed policies whose snapshots cleanup has not dealt with yet. */
  async removed(): Promise<StoredPolicy[]> {
    const all = await this.redis.hvals(this.removedKey);
    return all.map((raw) => JSON.parse(raw) as StoredPolicy);
  }

  /** Cleanup has applied a removed policy's `deletionPolicy`. */
  async forgetRemoved(key: string): Promise<void> {
    await this.redis.hdel(this.removedKey, key);
  }

  /** The latest tick of policy `key` handled so far (ms), if any. */
  async lastTick(key: string): Promise<number | undefined> {
    const value = await this.redis.hget(this.lastTicksKey, key);
    return value === null ? undefined : Number(value);
  }

  /**
   * Where policy `key`'s last handled tick is kept (hash and field), for a step that moves it
   * forward atomically with its own writes (see `RunStore.start`, `advance`).
   */
  lastTickRef(key: string): { key: string; field: string } {
    return { key: this.lastTicksKey, field: key };
  }

  /**
   * Records that the tick of `tickMs` of policy `key` was handled and returns the latest tick
   * handled before (`undefined` for the first one). Atomic across replicas, and monotonic: it
   * never moves back for a retried or late tick.
   */
  async advanceLastTick(key: string, tickMs: number): Promise<number | undefined> {
    const previous = await ADVANCE_TICK.run(this.redis, [this.lastTicksKey], [key, String(tickMs)]);
    return typeof previous === 'string' ? Number(previous) : undefined;
  }

  /** Records a problem; `since` is kept while the source keeps failing with the same errors. */
  async setProblem(problem: PolicyProblem): Promise<void> {
    const raw = await this.redis.hget(this.problemsKey, problem.source);
    const previous = raw ? (JSON.parse(raw) as PolicyProblem) : undefined;
    const same = previous && JSON.stringify(previous.errors) === JSON.stringify(problem.errors);
    const since = (same ? previous.since : undefined) ?? problem.since ?? problem.seenAt;
    await this.redis.hset(this.problemsKey, problem.source, JSON.stringify({ ...problem, since }));
  }

  /** Clears a solved problem; the source's next problem starts a new episode. */
  async clearProblem(source: string): Promise<void> {
    await this.redis
      .multi()
      .hdel(this.problemsKey, source)
      .hincrby(this.episodesKey, source, 1)
      .exec();
  }

  /**
   * How many times the problems of `source` were solved: the same problem coming back is a new
   * episode (and a new `policy.invalid` event), the same problem seen again on a resync is not.
   */
  async problemEpisode(source: string): Promise<number> {
    return Number((await this.redis.hget(this.episodesKey, source)) ?? 0);
  }

  async problems(): Promise<PolicyProblem[]> {
    const all = await this.redis.hvals(this.problemsKey);
    return all.map((raw) => JSON.parse(raw) as PolicyProblem);
  }

  private get policiesKey(): string {
    return `${this.prefix}:policies`;
  }

  /** Bumped by every write to the policies hash through a store. */
  private get generationKey(): string {
    return `${this.prefix}:policies-generation`;
  }

  private get schedulersKey(): string {
    return `${this.prefix}:policy-schedulers`;
  }

  private get removedKey(): string {
    return `${this.prefix}:policies-removed`;
  }

  private get lastTicksKey(): string {
    return `${this.prefix}:policy-last-tick`;
  }

  private get problemsKey(): string {
    return `${this.prefix}:policy-problems`;
  }

  private get episodesKey(): string {
    return `${this.prefix}:policy-problem-episodes`;
  }
}
