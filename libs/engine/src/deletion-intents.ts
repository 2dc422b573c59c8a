import type { Redis } from 'ioredis';
import {
  APPEND_EVENTS_FUNCTION,
  LuaScript,
  type AuditBatch,
  type AuditEventInput,
} from '#lib/audit';
import type { SnapshotDriver, SnapshotRef, VolumeRef } from '#lib/storage';
import type { EngineDeps } from './engine-deps.js';
import { errorText } from './format.js';
import type { LockedRead } from './volume-lock.js';

/** A deletion in flight outlives a dead worker by this long at most (then it is forgotten). */
const TTL_SECONDS = 30 * 24 * 3600;

// KEYS: intents hash, audit stream. ARGV: ttl s, pair count n, n (name, event JSON) pairs,
// stream bound, event JSON... The events are appended and the intents written in one step.
const INTEND = new LuaScript(`${APPEND_EVENTS_FUNCTION}
local pairs = tonumber(ARGV[2])
for i = 3, 2 + 2 * pairs, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
local bound = 3 + 2 * pairs
appendEvents(KEYS[2], ARGV[bound], bound + 1, #ARGV - bound)
return pairs`);

// KEYS: intents hash, audit stream. ARGV: name count n, n names, stream bound, event JSON...
// The events are appended and the intents they settle removed in one step.
const SETTLE = new LuaScript(`${APPEND_EVENTS_FUNCTION}
local names = tonumber(ARGV[1])
for i = 2, 1 + names do redis.call('HDEL', KEYS[1], ARGV[i]) end
local bound = 2 + names
appendEvents(KEYS[2], ARGV[bound], bound + 1, #ARGV - bound)
return names`);

/** A deletion about to be issued: the snapshot, and the event that will report it. */
export interface DeletionIntent {
  name: string;
  event: AuditEventInput;
}

/**
 * "Snapshot X of this volume is being deleted; this event reports it", per volume, in Redis:
 * written before the deletion is issued and removed in the same atomic step as the event that
 * reports it. A worker killed between the two leaves the intent behind, and whoever next holds
 * the volume's lock reports the deletion from it (see `SnapshotService`), so that no deletion
 * goes unrecorded.
 */
export class DeletionIntents {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** The deletions a worker began on `volume` and did not report, by snapshot name. */
  async owed(volume: VolumeRef): Promise<Map<string, AuditEventInput>> {
    return decodeIntents(Object.entries(await this.redis.hgetall(this.key(volume))).flat());
  }

  /** {@link owed}, made by the script that takes the volume's lock. */
  owedRead(volume: VolumeRef): LockedRead<Map<string, AuditEventInput>> {
    return { command: 'HGETALL', key: this.key(volume), decode: decodeIntents };
  }

  /** Writes `intents`, with `events` (written before them, if any) in the same step. */
  async intend(
    volume: VolumeRef,
    intents: readonly DeletionIntent[],
    events?: AuditBatch,
  ): Promise<void> {
    const key = this.key(volume);
    const args = [String(TTL_SECONDS), String(intents.length)];
    for (const intent of intents) args.push(intent.name, JSON.stringify(intent.event));
    args.push(String(events?.maxEvents ?? 0), ...(events?.entries ?? []));
    // Without events no stream is written; a key is still passed (any would do).
    await INTEND.run(this.redis, [key, events?.stream ?? key], args);
  }

  /** Appends `events` (if any) and removes the intents of `names`, in one step. */
  async settle(volume: VolumeRef, names: readonly string[], events?: AuditBatch): Promise<void> {
    const key = this.key(volume);
    const args = [String(names.length), ...names];
    args.push(String(events?.maxEvents ?? 0), ...(events?.entries ?? []));
    await SETTLE.run(this.redis, [key, events?.stream ?? key], args);
  }

  /** The hash of `volume`'s intents, for a script that settles them with other writes. */
  key(volume: VolumeRef): string {
    return `${this.prefix}:deleting:${volume.namespace}/${volume.name}`;
  }
}

/** What deleting under an intent needs: the driver, the audit log and the intents. */
type DeletionDeps = Pick<EngineDeps, 'driver' | 'audit' | 'deletions' | 'identity'>;

/**
 * After a deletion call failed: the event of a deletion that took place anyway (the provider
 * deleted the snapshot, then the call failed, e.g. its response was lost), naming the error;
 * `undefined` when the snapshot is still there, or cannot be looked up.
 */
export async function deletedDespite(
  driver: SnapshotDriver,
  ref: SnapshotRef,
  event: AuditEventInput,
  error: unknown,
): Promise<AuditEventInput | undefined> {
  const left = await driver.getSnapshot(ref).then(
    (snapshot) => snapshot !== undefined,
    () => true,
  );
  if (left) return undefined;
  return { ...event, attributes: { ...event.attributes, deleteError: errorText(error) } };
}

/**
 * Deletes one snapshot of `volume` (whose lock the caller holds) under an intent written
 * first, and writes `event` (with the deletion's duration) in the step that removes the
 * intent: a worker killed in between leaves the intent for the volume's next holder (see
 * {@link reportOwedDeletions}). If the deletion call fails and the snapshot is still there,
 * `failed(error)` is written instead, the intent removed with it, and the error rethrown; if it
 * is gone, the deletion took place and `event` is written (see {@link deletedDespite}).
 */
export async function deleteReported(
  deps: DeletionDeps,
  volume: VolumeRef,
  event: AuditEventInput & { snapshot: string },
  failed: (error: unknown) => AuditEventInput,
): Promise<AuditEventInput> {
  const name = event.snapshot;
  const ref = { namespace: volume.namespace, name };
  await deps.deletions.intend(volume, [{ name, event }]);
  const started = Date.now();
  let done: AuditEventInput = event;
  try {
    await deps.driver.deleteSnapshot(ref);
  } catch (error) {
    const despite = await deletedDespite(deps.driver, ref, event, error);
    if (!despite) {
      await deps.deletions.settle(volume, [name], deps.audit.batch([failed(error)]));
      throw error;
    }
    done = despite;
  }
  done = { ...done, durationMs: Date.now() - started };
  await deps.deletions.settle(volume, [name], deps.audit.batch([done]));
  return done;
}

/**
 * Reports the deletions a killed worker issued on `volume` (whose lock the caller holds) and
 * did not report: a snapshot that is gone, or still going (Terminating; finished first on a
 * driver that deletes inline), gets the event its deleter prepared, marked `late`. A snapshot
 * still there was never touched: its intent is dropped, and rotation decides about it again.
 * `owed` is the intents when the caller read them already (with the lock).
 */
export async function reportOwedDeletions(
  deps: DeletionDeps,
  volume: VolumeRef,
  snapshotClassName: string | undefined,
  owed: Promise<Map<string, AuditEventInput>> = deps.deletions.owed(volume),
): Promise<void> {
  const intents = await owed;
  if (intents.size === 0) return;
  const events: AuditEventInput[] = [];
  for (const [name, event] of intents) {
    const ref = { namespace: volume.namespace, name };
    const snapshot = await deps.driver.getSnapshot(ref);
    if (snapshot && snapshot.state !== 'Terminating') continue;
    if (snapshot) {
      const caps = await deps.driver.capabilities(volume, snapshotClassName);
      if (caps.deletesInline) await deps.driver.deleteSnapshot(ref);
    }
    events.push({
      ...event,
      attributes: { ...event.attributes, reportedBy: deps.identity, late: true },
    });
  }
  await deps.deletions.settle(volume, [...intents.keys()], deps.audit.batch(events));
}

/** Intents from HGETALL's flat `name, event JSON, ...` reply. */
function decodeIntents(raw: unknown): Map<string, AuditEventInput> {
  const fields = Array.isArray(raw) ? (raw as string[]) : [];
  const owed = new Map<string, AuditEventInput>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    owed.set(fields[i] as string, JSON.parse(fields[i + 1] as string) as AuditEventInput);
  }
  return owed;
}
