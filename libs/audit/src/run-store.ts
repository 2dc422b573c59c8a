import type { Redis } from 'ioredis';
import { parseRunIndexMember, runIndexMember } from './cursor.js';
import {
  countByDay,
  type DailyRunCounts,
  type RunTick,
  validateDailyRange,
} from './daily-counts.js';
import { RunNotFoundError, UnknownRunVolumeError } from './errors.js';
import { auditKeys } from './keys.js';
import type { Page } from './page.js';
import {
  ADMISSION_FIELD,
  ANNOUNCED_FIELD,
  decodeRun,
  pairsToMap,
  parseVolumeResult,
  startFields,
  volumeField,
} from './run-codec.js';
import { planRunQuery, type RunFilter, timePrefix } from './run-filter.js';
import {
  isRunKind,
  isRunState,
  isTerminalVolumeState,
  isVolumeRunState,
  type RunKind,
  type RunState,
  type RunRecord,
  type RunStartInput,
  type VolumeRunResult,
} from './run-record.js';
import { DEFAULT_SCAN_BUDGET, type ScanBudget } from './paged-scan.js';
import { scanRuns } from './run-scan.js';
import { ANNOUNCE_RUN, FINISH_VOLUME, START_RUN, UPDATE_VOLUME } from './run-scripts.js';
import type { AuditBatch, RunEndAnnouncement } from './audit-log.js';

/** Options of {@link RunStore}. */
export interface RunStoreOptions {
  /** Key prefix, e.g. `snapwarden:`. */
  prefix: string;
  /** How many runs the history keeps (default 10 000); the oldest by `scheduledAt` go first. */
  maxRuns?: number;
  /** Read work per `list` call (defaults: 250 runs a batch, 20 batches). */
  scan?: Partial<ScanBudget>;
}

/** Result of {@link RunStore.start}. */
export interface RunStartResult {
  record: RunRecord;
  /** False when the run already existed (a retried tick, another replica): it was left as is. */
  created: boolean;
  /** The admission stored with the run by the call that created it. */
  admission?: string;
  /** True once {@link RunStore.markAnnounced} was called for the run. */
  announced: boolean;
}

/** What {@link RunStore.start} writes in the same atomic step as the run. */
export interface RunStartEffects {
  /**
   * The run's start events, built from the record as it will be created; written, and the
   * run marked announced (see {@link RunStore.markAnnounced}), only if this call creates it.
   * `undefined` writes none.
   */
  announce?: (record: RunRecord) => AuditBatch | undefined;
  /**
   * A hash field moved forward to `value`, never back, whether or not the run is created (e.g.
   * a policy's last handled tick, recorded with the run that tick decided).
   */
  advance?: { key: string; field: string; value: number };
}

/** A volume's newest final result (see {@link RunStore.lastVolumeResult}) and its run. */
export interface LastVolumeResult {
  runId: string;
  kind: RunKind;
  scheduledAt: string;
  /** When the run ended, if it has. */
  finishedAt?: string;
  result: VolumeRunResult;
}

/** What {@link RunStore.admission} reads of an existing run. */
export interface StoredAdmission {
  admission?: string;
  announced: boolean;
}

/** What {@link RunStore.applyVolumeResult} did, and the run afterwards. */
export interface VolumeUpdate {
  /** The run as this call closed it; only with `finished` (the cheap path skips reading it). */
  record?: RunRecord;
  /** `finished`: this call closed the run (once per run); `unchanged`: the volume was already terminal. */
  outcome: 'updated' | 'finished' | 'unchanged';
}

/** A key its owner holds (a lock, a marker): deleted only while it still holds `owner`. */
export interface Lease {
  key: string;
  owner: string;
}

/**
 * What a volume's job writes in the same atomic step as its result (see
 * {@link RunStore.applyVolumeResult}): the events not yet written, and the leases to release.
 */
export interface VolumeResultEffects {
  events?: AuditBatch;
  /** Hash fields the events settle, removed with them (see `DeletionIntents`). */
  forget?: { key: string; fields: readonly string[] };
  release?: readonly Lease[];
  /** `run.finished`, appended in the same step when this result closes the run. */
  end?: RunEndAnnouncement;
}

/**
 * The keys and arguments `FINISH_VOLUME` takes after those of the update, or `undefined` when
 * there is nothing to write besides the result. Keys not written to are still passed (any key
 * would do): the stream without events, the hash without fields.
 */
function effectArgs(
  effects: VolumeResultEffects,
  defaultStream: string,
): { keys: string[]; args: string[] } | undefined {
  const { end } = effects;
  const stream = effectStream(effects, defaultStream);
  const events = effects.events ?? { stream, maxEvents: 0, entries: [] };
  const forget = effects.forget ?? { key: stream, fields: [] };
  const release = effects.release ?? [];
  if (events.entries.length + forget.fields.length + release.length === 0 && !end) {
    return undefined;
  }
  return {
    keys: [stream, forget.key, ...release.map((l) => l.key)],
    args: [
      String(events.maxEvents),
      String(events.entries.length),
      ...events.entries,
      String(forget.fields.length),
      ...forget.fields,
      ...release.map((l) => l.owner),
      end?.fields ?? '',
      String(end?.maxEvents ?? 0),
    ],
  };
}

/** The stream a volume's last step writes to: its events' and its run end's, one and the same. */
function effectStream(effects: VolumeResultEffects, defaultStream: string): string {
  const { events, end } = effects;
  const stream = events?.stream ?? end?.stream ?? defaultStream;
  if (end && end.stream !== stream) {
    throw new TypeError(`run.finished goes to ${end.stream}, the volume's events to ${stream}`);
  }
  return stream;
}

/**
 * The keys and arguments `START_RUN` takes after those of the run: the event stream and the
 * ledger hash (the run's own key stands in for one not written to), then the announced field,
 * the events and the ledger's field and value (empty field: nothing to advance).
 */
function startEffectArgs(
  run: string,
  events: AuditBatch | undefined,
  advance: RunStartEffects['advance'],
): { keys: string[]; args: string[] } {
  const announce = events
    ? [ANNOUNCED_FIELD, String(events.maxEvents), String(events.entries.length), ...events.entries]
    : ['', '0', '0'];
  const ledger = advance ? [advance.field, String(advance.value)] : ['', '0'];
  return {
    keys: [events?.stream ?? run, advance?.key ?? run],
    args: [...announce, ...ledger],
  };
}

const TRIM_BATCH = 200;
const DAILY_BATCH = 1_000;
/** How many of a policy's newest runs the latest-run fallback reads. */
const LATEST_FALLBACK = 50;

/**
 * The run (job) history in Redis: one hash per run with per-volume results, indexed by time,
 * policy and volume. Starts are idempotent, volume updates atomic (a run's final state is
 * computed exactly once, however many processes report volumes at once), and the history is
 * bounded to `maxRuns`. The caller owns `redis`.
 */
export class RunStore {
  private readonly prefix: string;
  private readonly maxRuns: number;
  private readonly trimSlack: number;
  private readonly budget: ScanBudget;
  /** The trim pass under way in this process, which concurrent calls join. */
  private trimming: Promise<number> | undefined;

  constructor(
    private readonly redis: Redis,
    options: RunStoreOptions,
  ) {
    this.prefix = options.prefix;
    this.maxRuns = options.maxRuns ?? 10_000;
    // Trimming once per 1% overshoot amortises it over many starts.
    this.trimSlack = Math.floor(this.maxRuns / 100);
    this.budget = { ...DEFAULT_SCAN_BUDGET, ...options.scan };
  }

  /**
   * Records a run, or returns the existing one with `created: false` (never resets it). A run
   * without volumes is `succeeded` at once; one with `state` (`missed`, `skipped`) is terminal
   * at once. Trims the history when it has grown past `maxRuns` by more than 1%. `effects` are
   * written in the same atomic step (see {@link RunStartEffects}).
   */
  async start(
    input: RunStartInput,
    now: Date = new Date(),
    effects: RunStartEffects = {},
  ): Promise<RunStartResult> {
    if (input.id === '') throw new TypeError('run id must not be empty');
    const member = runIndexMember({ timeMs: input.scheduledAt.getTime(), id: input.id });
    const run = auditKeys.run(this.prefix, input.id);
    const others: string[] = [];
    if (input.policy !== undefined) others.push(auditKeys.policyRuns(this.prefix, input.policy));
    for (const volume of new Set(input.volumes)) {
      others.push(auditKeys.volumeRuns(this.prefix, input.namespace, volume));
    }
    const fields = startFields(input, now);
    // The record a created run holds is exactly what is sent: its start events are built from it.
    const sent = pairsToMap(fields);
    sent.set('member', member);
    const planned = decodeRun(sent);
    if (!planned) throw new Error(`run ${input.id} is not a readable run record`);
    const events = effects.announce?.(planned);
    const extra = startEffectArgs(run, events, effects.advance);
    const keys = [run, auditKeys.runs(this.prefix), ...others, auditKeys.latestRuns(this.prefix)];
    keys.push(...extra.keys);
    const args = [member, String(others.length), String(fields.length), ...fields, ...extra.args];
    const reply = await START_RUN.run(this.redis, keys, args);
    const [created, size, pairs] = reply as [number, number, string[]];
    if (created === 1) {
      if (size > this.maxRuns + this.trimSlack) await this.trim();
      return { record: planned, created: true, admission: input.admission, announced: !!events };
    }
    const map = pairsToMap(pairs);
    const record = decodeRun(map);
    if (!record) throw new Error(`run ${input.id} is not a readable run record`);
    return {
      record,
      created: false,
      admission: map.get(ADMISSION_FIELD),
      announced: map.has(ANNOUNCED_FIELD),
    };
  }

  /**
   * The admission a run was started with and whether its start was announced, without reading
   * its volumes; `undefined` when there is no such run.
   */
  async admission(runId: string): Promise<StoredAdmission | undefined> {
    const key = auditKeys.run(this.prefix, runId);
    const [id, admission, announced] = await this.redis.hmget(
      key,
      'id',
      ADMISSION_FIELD,
      ANNOUNCED_FIELD,
    );
    if (id === null) return undefined;
    return { admission: admission ?? undefined, announced: announced !== null };
  }

  /**
   * Notes that the run's start events were written; `events`, when given, are written in the
   * same atomic step (then they are on record exactly once). Without them the caller wrote
   * its events before: a crash in between makes the retry write them again (at least once,
   * never lost).
   */
  async markAnnounced(runId: string, events?: AuditBatch): Promise<void> {
    const key = auditKeys.run(this.prefix, runId);
    if (!events) {
      await this.redis.hset(key, ANNOUNCED_FIELD, '1');
      return;
    }
    await ANNOUNCE_RUN.run(
      this.redis,
      [key, events.stream],
      [ANNOUNCED_FIELD, String(events.maxEvents), ...events.entries],
    );
  }

  /**
   * Sets one volume's result (merged into what is stored) atomically. When it was the last
   * open volume the run gets its final state (`succeeded`, `failed` or `partial`),
   * `finishedAt` and `durationMs`, exactly once. A volume that is already terminal keeps its
   * result. Returns the run after the update; {@link applyVolumeResult} also says whether
   * this call finished the run.
   * @throws RunNotFoundError, UnknownRunVolumeError
   */
  async updateVolume(
    runId: string,
    result: VolumeRunResult,
    now: Date = new Date(),
  ): Promise<RunRecord> {
    const { record } = await this.applyVolumeResult(runId, result, now);
    const current = record ?? (await this.get(runId));
    if (!current) throw new RunNotFoundError(runId);
    return current;
  }

  /**
   * The newest final result (succeeded, failed or skipped) of `volume` among the `limit` newest
   * runs that hold it, newest first, reading of each run only that volume's result and a few
   * fields: a large run's other volumes never travel. `undefined` when none of them has one.
   */
  async lastVolumeResult(
    namespace: string,
    volume: string,
    limit = 5,
  ): Promise<LastVolumeResult | undefined> {
    const index = auditKeys.volumeRuns(this.prefix, namespace, volume);
    const members = await this.redis.zrevrange(index, 0, limit - 1);
    for (const member of members) {
      const runId = parseRunIndexMember(member)?.id;
      const last = runId === undefined ? undefined : await this.finalResultIn(runId, volume);
      if (last) return last;
    }
    return undefined;
  }

  /** `volume`'s result in run `runId` with the run's kind and times, if that result is final. */
  private async finalResultIn(
    runId: string,
    volume: string,
  ): Promise<LastVolumeResult | undefined> {
    const [kind = null, scheduledAt = null, finishedAt = null, raw = null] = await this.redis.hmget(
      auditKeys.run(this.prefix, runId),
      'kind',
      'scheduledAt',
      'finishedAt',
      volumeField(volume),
    );
    const result = parseVolumeResult(volume, raw ?? undefined);
    if (!result || !isTerminalVolumeState(result.state)) return undefined;
    if (kind === null || !isRunKind(kind) || scheduledAt === null) return undefined;
    return { runId, kind, scheduledAt, ...(finishedAt ? { finishedAt } : {}), result };
  }

  /** The run's state alone (cheap for large runs), or `undefined` when there is no such run. */
  async state(runId: string): Promise<RunState | undefined> {
    const raw = await this.redis.hget(auditKeys.run(this.prefix, runId), 'state');
    return raw !== null && isRunState(raw) ? raw : undefined;
  }

  /**
   * Where a volume's result in a run is kept (hash and field), for a script that must see it
   * in the same atomic step as its own writes (see `VolumeLocks.take`, `unlessFinished`).
   */
  volumeResultRef(runId: string, volume: string): { key: string; field: string } {
    return { key: auditKeys.run(this.prefix, runId), field: volumeField(volume) };
  }

  /** One volume's result in a run, without reading the others. */
  async volumeResult(runId: string, volume: string): Promise<VolumeRunResult | undefined> {
    const raw = await this.redis.hget(auditKeys.run(this.prefix, runId), volumeField(volume));
    return raw ? (JSON.parse(raw) as VolumeRunResult) : undefined;
  }

  /**
   * {@link updateVolume}, telling what the call did: `finished` for exactly one call per run
   * (the one whose result closed it; emit `run.finished` on that), `unchanged` when the volume
   * was already terminal (a duplicate or late report), otherwise `updated`. `effects` are
   * written in the same atomic step, whatever the outcome: events appended before the result
   * (an event never follows the result it explains), leases released where still held.
   * @throws RunNotFoundError, UnknownRunVolumeError, TypeError for an unknown volume state
   */
  async applyVolumeResult(
    runId: string,
    result: VolumeRunResult,
    now: Date = new Date(),
    effects: VolumeResultEffects = {},
  ): Promise<VolumeUpdate> {
    if (!isVolumeRunState(result.state)) {
      throw new TypeError(`unknown volume state ${String(result.state)}`);
    }
    const args = [volumeField(result.volume), JSON.stringify(result)];
    args.push(now.toISOString(), String(now.getTime()));
    const keys = [auditKeys.run(this.prefix, runId), auditKeys.latestRuns(this.prefix)];
    const reply = await this.runUpdate(keys, args, effects);
    const [status, pairs] = reply as [string, string[]];
    if (status === 'missing') throw new RunNotFoundError(runId);
    if (status === 'unknown-volume') throw new UnknownRunVolumeError(runId, result.volume);
    if (status !== 'finished') {
      return { outcome: status === 'unchanged' ? 'unchanged' : 'updated' };
    }
    const record = decodeRun(pairsToMap(pairs));
    if (!record) throw new RunNotFoundError(runId);
    return { record, outcome: 'finished' };
  }

  /** The plain update, or the one that also writes `effects` (one script either way). */
  private runUpdate(keys: string[], args: string[], effects: VolumeResultEffects) {
    const extra = effectArgs(effects, auditKeys.stream(this.prefix));
    if (!extra) return UPDATE_VOLUME.run(this.redis, keys, args);
    return FINISH_VOLUME.run(this.redis, [...keys, ...extra.keys], [...args, ...extra.args]);
  }

  /** The run with this id, or `undefined` (never started, or trimmed away). */
  async get(id: string): Promise<RunRecord | undefined> {
    const hash = await this.redis.hgetall(auditKeys.run(this.prefix, id));
    return decodeRun(new Map(Object.entries(hash)));
  }

  /**
   * The newest finished run of each policy (by `scheduledAt`, then id), however many runs
   * other policies have: read from the latest-run pointer the run scripts keep, falling back
   * to the newest finished run among the policy's last {@link LATEST_FALLBACK} runs when the
   * pointer is absent (runs written before it existed) or its run was trimmed away.
   */
  async latestFinished(policies: readonly string[]): Promise<Map<string, RunRecord>> {
    const found = new Map<string, RunRecord>();
    if (policies.length === 0) return found;
    const members = await this.redis.hmget(auditKeys.latestRuns(this.prefix), ...policies);
    const records = await this.readAll(members.map((m) => parseRunIndexMember(m ?? '')?.id));
    for (const [index, policy] of policies.entries()) {
      const record = records[index] ?? (await this.newestFinishedScan(policy));
      if (record) found.set(policy, record);
    }
    return found;
  }

  /**
   * The id of each policy's newest finished run, from the latest-run pointer alone (policies
   * without one are left out): a cheap read for comparing, {@link get} for the run itself.
   */
  async latestIds(policies: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (policies.length === 0) return found;
    const members = await this.redis.hmget(auditKeys.latestRuns(this.prefix), ...policies);
    for (const [index, policy] of policies.entries()) {
      const id = parseRunIndexMember(members[index] ?? '')?.id;
      if (id !== undefined) found.set(policy, id);
    }
    return found;
  }

  private async readAll(ids: readonly (string | undefined)[]): Promise<(RunRecord | undefined)[]> {
    const lookup = this.redis.pipeline();
    for (const id of ids) lookup.hgetall(auditKeys.run(this.prefix, id ?? ''));
    const replies = (await lookup.exec()) ?? [];
    return replies.map(([error, hash], index) => {
      if (error || ids[index] === undefined) return undefined;
      return decodeRun(new Map(Object.entries((hash ?? {}) as Record<string, string>)));
    });
  }

  private async newestFinishedScan(policy: string): Promise<RunRecord | undefined> {
    const index = auditKeys.policyRuns(this.prefix, policy);
    const members = await this.redis.zrange(
      index,
      '+',
      '-',
      'BYLEX',
      'REV',
      'LIMIT',
      0,
      LATEST_FALLBACK,
    );
    const records = await this.readAll(members.map((m) => parseRunIndexMember(m)?.id));
    return records.find((r) => r !== undefined && r.state !== 'running');
  }

  /**
   * Lists runs newest first (by `scheduledAt`, then id). Reads at most the scan budget per
   * call; a short page with `nextCursor` means "keep going".
   * @throws InvalidQueryError for a malformed cursor or an invalid time.
   */
  async list(filter: RunFilter = {}): Promise<Page<RunRecord>> {
    const plan = planRunQuery(this.prefix, filter);
    if (!plan.satisfiable) return { items: [] };
    return scanRuns(this.redis, this.prefix, plan, this.budget);
  }

  /**
   * Drops the oldest runs beyond `maxRuns`: their hashes and their entries in every index.
   * Safe to run concurrently (deletes are idempotent); calls made in one process while a pass
   * is under way join that pass, so that the run starts in flight when the history crosses its
   * bound (up to the worker's tick concurrency) do not each delete the same runs. Returns how
   * many runs went.
   */
  trim(): Promise<number> {
    this.trimming ??= this.trimPass().finally(() => {
      this.trimming = undefined;
    });
    return this.trimming;
  }

  private async trimPass(): Promise<number> {
    const runs = auditKeys.runs(this.prefix);
    const excess = (await this.redis.zcard(runs)) - this.maxRuns;
    if (excess <= 0) return 0;
    const members = await this.redis.zrange(runs, 0, String(excess - 1));
    for (let i = 0; i < members.length; i += TRIM_BATCH) {
      await this.remove(members.slice(i, i + TRIM_BATCH));
    }
    return members.length;
  }

  /**
   * Finished runs per calendar day in `timeZone` (by `scheduledAt`, within `[since, until)`),
   * by result, every day of the range listed; optionally for one policy.
   * @throws InvalidQueryError for an unknown time zone or an invalid or too long range.
   */
  async dailyCounts(
    since: Date,
    until: Date,
    timeZone = 'UTC',
    options: { policy?: string } = {},
  ): Promise<DailyRunCounts[]> {
    validateDailyRange(since, until, timeZone);
    const index =
      options.policy === undefined
        ? auditKeys.runs(this.prefix)
        : auditKeys.policyRuns(this.prefix, options.policy);
    const ticks: RunTick[] = [];
    let min = `[${timePrefix(since.getTime())}`;
    const max = `(${timePrefix(until.getTime())}`;
    for (;;) {
      const members = await this.redis.zrange(index, min, max, 'BYLEX', 'LIMIT', 0, DAILY_BATCH);
      ticks.push(...(await this.ticksOf(members)));
      const last = members.at(-1);
      if (members.length < DAILY_BATCH || last === undefined) break;
      min = `(${last}`;
    }
    return countByDay(ticks, since, until, timeZone);
  }

  private async ticksOf(members: readonly string[]): Promise<RunTick[]> {
    const positions = members.map(parseRunIndexMember);
    const lookup = this.redis.pipeline();
    for (const position of positions)
      lookup.hget(auditKeys.run(this.prefix, position?.id ?? ''), 'state');
    const replies = (await lookup.exec()) ?? [];
    const ticks: RunTick[] = [];
    replies.forEach(([error, state], index) => {
      if (error) throw error;
      const position = positions[index];
      if (position && typeof state === 'string' && isRunState(state)) {
        ticks.push({ timeMs: position.timeMs, state });
      }
    });
    return ticks;
  }

  private async remove(members: readonly string[]): Promise<void> {
    const ids = members.map((member) => parseRunIndexMember(member)?.id ?? '');
    const lookup = this.redis.pipeline();
    for (const id of ids)
      lookup.hmget(auditKeys.run(this.prefix, id), 'policy', 'namespace', 'volumes');
    const metas = (await lookup.exec()) ?? [];
    const removal = this.redis.multi();
    members.forEach((member, index) => {
      removal.del(auditKeys.run(this.prefix, ids[index] ?? ''));
      for (const key of this.indexesOf(metas[index]?.[1])) removal.zrem(key, member);
    });
    await removal.exec();
  }

  private indexesOf(meta: unknown): string[] {
    const keys = [auditKeys.runs(this.prefix)];
    const [policy, namespace, volumes] = (meta ?? []) as (string | null)[];
    if (policy) keys.push(auditKeys.policyRuns(this.prefix, policy));
    if (namespace === null || namespace === undefined) return keys;
    for (const volume of JSON.parse(volumes ?? '[]') as string[]) {
      keys.push(auditKeys.volumeRuns(this.prefix, namespace, volume));
    }
    return keys;
  }
}
