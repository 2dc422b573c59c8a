import {
  isTerminalVolumeState,
  type AuditEventInput,
  type Lease,
  type VolumeRunResult,
} from '#lib/audit';
import {
  KEEP_VALUE,
  LABEL_KEEP,
  LABEL_MANAGED_BY,
  LABEL_ON_DEMAND,
  LABEL_POLICY,
  LABEL_SCHEDULED_AT,
  LABEL_VOLUME,
  labelValue,
  MANAGED_BY_VALUE,
  PROTECTED_BY_KEEP_LABEL,
  PROTECTED_BY_ON_DEMAND,
  PROTECTED_BY_RESTORE,
  formatScheduledAt,
  planRetention,
  type PlanSnapshot,
} from '#lib/policy';
import type { SnapshotJobData, SnapshotJobResult } from '#lib/queues';
import {
  captureMessage,
  SnapshotTimeoutError,
  type Snapshot,
  type Volume,
  type VolumeRef,
} from '#lib/storage';
import type { EngineDeps } from './engine-deps.js';
import type { StoredPolicy } from './policy-store.js';
import type { LockedRead, LockHold } from './volume-lock.js';
import type { PendingPost } from './hooks/pending-hooks.js';
import { errorText } from './format.js';
import { hookScopeOf, recoverOwedHooks, withHooks } from './hooks/with-hooks.js';
import { recordVolumeResult } from './run-recorder.js';
import { deletedDespite, deleteReported, reportOwedDeletions } from './deletion-intents.js';

/** The reason of a deletion finished after its first caller died mid-way. */
export const INTERRUPTED_DELETION = 'finishing a deletion that was interrupted';

/** What the worker should do with a snapshot job after one attempt. */
export type SnapshotStep =
  | { kind: 'done'; result: SnapshotJobResult }
  /** Hand the job back to the queue and run it again after `delayMs` (lock busy, not ready). */
  | { kind: 'wait'; delayMs: number; reason: 'volume-busy' | 'not-ready'; data: SnapshotJobData };

interface Attempt {
  data: SnapshotJobData;
  jobId: string;
  stored: StoredPolicy;
  /** The volume lock, once the attempt holds it. */
  holding?: Holding;
}

/** What the script that takes a volume's lock reads with it (see `LockedRead`). */
interface FirstReads {
  deleting: LockedRead<Map<string, AuditEventInput>>;
  owed?: LockedRead<PendingPost | undefined>;
  protectedNames?: LockedRead<ReadonlySet<string>>;
}

/** The volume lock an attempt holds, and what it reads once while holding it. */
interface Holding {
  hold: LockHold<FirstReads>;
  /** True once the volume's result was recorded and the lock released in the same step. */
  released: boolean;
  /** The post hooks a killed worker owed the volume, read once the lock was taken. */
  owed?: Promise<PendingPost | undefined>;
  /**
   * Snapshots rotation must leave alone. Read once per hold: a restore adds to them only while
   * holding this volume's lock, and one that ends meanwhile only leaves them over-protected.
   */
  protectedNames?: Promise<ReadonlySet<string> | undefined>;
  /** Deletions a killed worker issued on the volume and did not report, read with the lock. */
  deleting?: Promise<Map<string, AuditEventInput>>;
}

/** The deletions of one rotation pass: those reported so far, and every intent it wrote. */
interface PrunePass {
  unwritten: AuditEventInput[];
  intended: readonly string[];
}

/**
 * One volume's share of a run: plan retention against the cap, free a slot only if the plan
 * allows it, create (or adopt) the snapshot under its deterministic name, wait until it is
 * ready, prune what the plan prunes. Runs with the volume's lock held (invariant 4) and emits
 * an audit event for every state change (invariant 6).
 */
export class SnapshotService {
  constructor(private readonly deps: EngineDeps) {}

  /**
   * One attempt of a volume's job. `redelivered` says the queue has handed this job out before
   * (a retry, a re-check, a dead worker's job): only then can its result already be recorded.
   * `attempt` names this delivery (BullMQ's token): a second delivery of the same job running
   * at the same time (its first worker lost the job's queue lock and kept going) then finds the
   * volume busy instead of sharing its lock (see `VolumeLocks.take`).
   */
  async run(
    data: SnapshotJobData,
    jobId: string,
    options: { redelivered: boolean; attempt?: string } = { redelivered: true },
  ): Promise<SnapshotStep> {
    if (options.redelivered) {
      const mine = await this.deps.runs.volumeResult(data.runId, data.volume.name);
      if (mine && isTerminalVolumeState(mine.state)) return this.settleFinished(data, jobId, mine);
    }
    const stored = await this.deps.policies.get(data.policyKey);
    if (!stored) return this.skip(data, jobId, 'policy no longer exists');
    if (await this.isReplaced(stored, data, jobId)) {
      return this.skip(data, jobId, 'replaced by a newer run (concurrencyPolicy Replace)');
    }
    const lockKey = `${data.volume.namespace}/${data.volume.name}`;
    const { lockTtlMs, busyRetryMs } = this.deps.timings;
    // A first attempt says it started in the step that takes the lock: written only if it is
    // taken, before anything is done to the volume. Later attempts (re-checks) carry startedAt.
    const startedAt = data.startedAt ?? this.deps.clock().toISOString();
    const started = data.startedAt
      ? undefined
      : this.deps.audit.batch(
          [this.event(data, { type: 'snapshot.started', outcome: 'started', jobId })],
          new Date(startedAt),
        );
    // A job waiting for readiness keeps the volume: no other operation may start meanwhile.
    const attempt: Attempt = { data: { ...data, startedAt }, jobId, stored };
    const held = await this.deps.locks.withLock(
      lockKey,
      jobId,
      lockTtlMs,
      (hold) => this.locked({ ...attempt, holding: (attempt.holding = this.holdingOf(hold)) }),
      {
        keepFor: (step) => {
          if (step.kind === 'wait') return step.delayMs;
          return attempt.holding?.released ? 'released' : undefined;
        },
        announce: started,
        reads: this.firstReads(data.volume),
        attempt: options.attempt,
        // Another delivery that finished the volume meanwhile (a group's stale delivery moving
        // on) makes the lock look busy: the job is handed back and its next delivery settles.
        unlessFinished: this.deps.runs.volumeResultRef(data.runId, data.volume.name),
      },
    );
    if (held) return held.value;
    const delayMs = busyRetryMs + Math.floor(Math.random() * busyRetryMs);
    return { kind: 'wait', delayMs, reason: 'volume-busy', data };
  }

  /** True once the volume's result in its run is final (succeeded, failed or skipped). */
  async finished(data: SnapshotJobData): Promise<boolean> {
    return (await this.outcome(data)) !== undefined;
  }

  /** The volume's final result in its run (`succeeded`, `failed`, `skipped`), if it has one. */
  async outcome(data: SnapshotJobData): Promise<SnapshotJobResult['outcome'] | undefined> {
    const mine = await this.deps.runs.volumeResult(data.runId, data.volume.name);
    if (mine === undefined || !isTerminalVolumeState(mine.state)) return undefined;
    return mine.state === 'succeeded' || mine.state === 'skipped' ? mine.state : 'failed';
  }

  /**
   * Records a job that will not be retried (invalid input, or retries exhausted) as the
   * volume's failure, and releases what the job held.
   */
  async fail(data: SnapshotJobData, jobId: string, error: unknown): Promise<void> {
    const text = errorText(error);
    await this.emit(data, { type: 'snapshot.failed', outcome: 'failed', error: text, jobId });
    // A ready snapshot stays (e.g. rotation failed after it) and the result names it; a
    // half-built one is removed, so the disk never holds more than the history says.
    const lockKey = `${data.volume.namespace}/${data.volume.name}`;
    const held = await this.deps.locks
      .withLock(lockKey, jobId, this.deps.timings.lockTtlMs, () => this.settleLeftover(data, jobId))
      .catch(() => undefined);
    const kept = held?.value;
    // The lock an earlier attempt kept (a re-check) ends with the result.
    const lock = this.deps.locks.lease(lockKey, jobId);
    await this.finishVolume(
      data,
      jobId,
      { state: 'failed', error: text, snapshot: kept },
      { lock },
    );
  }

  /** The job's snapshot if it is ready (kept); deletes it when it is not. */
  private async settleLeftover(data: SnapshotJobData, jobId: string) {
    const ref = { namespace: data.volume.namespace, name: data.snapshotName };
    const leftover = await this.deps.driver.getSnapshot(ref);
    if (!leftover || leftover.volumeName !== data.volume.name) return undefined;
    if (leftover.readyToUse) return leftover.name;
    await this.discardLeftover(data, jobId, { volume: data.volume.name, state: 'failed' });
    return undefined;
  }

  /** Notes a transient failure that the queue will retry. */
  async retrying(data: SnapshotJobData, jobId: string, error: unknown, attempt: number) {
    await this.emit(data, {
      type: 'job.retrying',
      outcome: 'info',
      error: errorText(error),
      jobId,
      attributes: { attempt },
    });
  }

  /**
   * What every hold reads first, made by the script that takes the lock: deletions and hooks a
   * killed worker owed the volume, and the snapshots protected from rotation.
   */
  private firstReads(volume: VolumeRef): FirstReads {
    return {
      deleting: this.deps.deletions.owedRead(volume),
      owed: this.deps.hooks?.owedRead(volume),
      protectedNames: this.deps.protection?.lockedRead?.(volume),
    };
  }

  /** The hold of a lock taken with {@link firstReads}, with what they read. */
  private holdingOf(hold: LockHold<FirstReads>): Holding {
    const { read } = hold;
    const protection = this.deps.protection?.lockedRead && read.protectedNames;
    return {
      hold,
      released: false,
      owed: this.deps.hooks && Promise.resolve(read.owed),
      // A protection that cannot be read with the lock is read when rotation first needs it.
      protectedNames: protection && Promise.resolve(protection),
      deleting: Promise.resolve(read.deleting),
    };
  }

  private async locked(attempt: Attempt): Promise<SnapshotStep> {
    const { data } = attempt;
    // The owed hooks run before anything else, and deletions a killed worker left unreported
    // are reported before anything is listed.
    const [volume] = await Promise.all([
      this.deps.driver.getVolume(data.volume),
      recoverOwedHooks(this.deps, data.volume, attempt.jobId, attempt.holding?.owed),
      this.protectedNames(attempt, data.volume),
      reportOwedDeletions(
        this.deps,
        data.volume,
        attempt.stored.policy.spec.snapshotClassName,
        attempt.holding?.deleting,
      ),
    ]);
    if (!volume || volume.uid !== data.volume.uid) {
      return this.failFinal(attempt, 'volume no longer exists (or was recreated) since the tick');
    }
    const existing = await this.finishInterruptedDeletions(
      attempt,
      volume,
      await this.deps.driver.listSnapshots(volume),
    );
    const mine = existing.find((s) => s.name === data.snapshotName);
    if (!mine) {
      const blocked = await this.freeSlot(attempt, volume, existing);
      if (blocked) return this.failFinal(attempt, blocked, 'snapshot.blocked');
    }
    const hooked = await withHooks(
      this.deps,
      { ...hookScopeOf(data), policy: data.policyKey, jobId: attempt.jobId },
      attempt.stored.policy.spec.hooks,
      { creating: !mine, recovered: true },
      () => this.create(attempt, volume, mine),
    );
    if (hooked.error !== undefined || !hooked.value) {
      // A post hook failed after the snapshot was created: record the creation, then the failure.
      if (hooked.value) await this.deps.audit.appendMany(hooked.value.pending);
      return this.failFinal(attempt, hooked.error ?? 'snapshot not created');
    }
    const { snapshot, pending } = hooked.value;
    return this.awaitReady(attempt, snapshot, pending);
  }

  /** Deletes the oldest prunable snapshots when the new one would not fit; or says why not. */
  private async freeSlot(attempt: Attempt, volume: Volume, existing: Snapshot[]) {
    const plan = await this.plan(attempt, volume, existing, true);
    if (!plan.canCreate) return plan.blockedReason ?? 'limit reached';
    for (const name of plan.pruneBeforeCreate) {
      await this.pruneNow(attempt, name, 'retention: free a slot under the cap before creating');
    }
    return undefined;
  }

  /**
   * Creates (or adopts) the snapshot. The creation event is returned, not yet written, when
   * the snapshot is ready at once: it is then written together with the ready event.
   */
  private async create(
    attempt: Attempt,
    volume: Volume,
    mine: Snapshot | undefined,
  ): Promise<{ snapshot: Snapshot; pending: AuditEventInput[] }> {
    if (mine) return { snapshot: mine, pending: [] };
    const { data, stored } = attempt;
    const started = Date.now();
    const { snapshot, adopted } = await this.deps.driver.createSnapshot({
      volume,
      name: data.snapshotName,
      labels: this.labels(stored, data),
      snapshotClassName: stored.policy.spec.snapshotClassName,
    });
    const event = this.event(data, {
      type: adopted ? 'snapshot.adopted' : 'snapshot.created',
      outcome: 'succeeded',
      jobId: attempt.jobId,
      durationMs: Date.now() - started,
    });
    if (snapshot.readyToUse) return { snapshot, pending: [event] };
    await this.deps.audit.append(event);
    return { snapshot, pending: [] };
  }

  private async awaitReady(
    attempt: Attempt,
    snapshot: Snapshot,
    pending: AuditEventInput[],
  ): Promise<SnapshotStep> {
    const { data } = attempt;
    const { readyWaitMs, readyRecheckMs, readyTimeoutMs } = this.deps.timings;
    const elapsed = this.deps.clock().getTime() - Date.parse(data.startedAt ?? '');
    const remaining = readyTimeoutMs - elapsed;
    let ready = snapshot;
    if (!snapshot.readyToUse) {
      try {
        ready = await this.deps.driver.waitUntilReady(
          snapshot,
          Math.max(1, Math.min(readyWaitMs, remaining)),
        );
      } catch (error) {
        if (!(error instanceof SnapshotTimeoutError)) throw error;
        if (remaining > readyWaitMs) {
          return { kind: 'wait', delayMs: readyRecheckMs, reason: 'not-ready', data };
        }
        return this.failFinal(attempt, `not ready within ${readyTimeoutMs / 1000}s`);
      }
    }
    const readyEvent = this.event(data, {
      type: 'snapshot.ready',
      outcome: 'succeeded',
      jobId: attempt.jobId,
      durationMs: Math.max(0, elapsed),
      attributes: ready.restoreSizeBytes ? { restoreSizeBytes: ready.restoreSizeBytes } : {},
      ...captureMessage(ready),
    });
    // The creation and readiness are on record before anything is pruned; with nothing to
    // prune they are written with the result.
    const reported = [...pending, readyEvent];
    const { pruned, deleted } = await this.pruneAfterReady(attempt, reported);
    await this.finishLocked(
      attempt,
      { state: 'succeeded', snapshot: data.snapshotName },
      pruned.length > 0 ? deleted : reported,
      pruned,
    );
    return done({ outcome: 'succeeded', snapshot: data.snapshotName, pruned });
  }

  /**
   * Rotation after the new snapshot is ready: `reported` (its creation and readiness) is
   * written before the first deletion. The deletion events are returned, to be written with
   * the volume's result; if a deletion fails, those before it are written with its failure.
   */
  private async pruneAfterReady(
    attempt: Attempt,
    reported: AuditEventInput[],
  ): Promise<{ pruned: string[]; deleted: AuditEventInput[] }> {
    const deleted: AuditEventInput[] = [];
    const volume = await this.deps.driver.getVolume(attempt.data.volume);
    if (!volume) return { pruned: [], deleted };
    const existing = await this.finishInterruptedDeletions(
      attempt,
      volume,
      await this.deps.driver.listSnapshots(volume),
    );
    const plan = await this.plan(attempt, volume, existing, false);
    // `retention` (no rule keeps it), `max-age` or `failed`.
    const doomed = plan.prune.map((entry) => ({
      name: entry.name,
      reason: entry.reason === 'retention' ? 'retention' : `retention: ${entry.reason}`,
    }));
    const pruned = doomed.map((d) => d.name);
    if (doomed.length > 0) {
      // What is reported so far, and what is about to be deleted, in one step.
      const intents = doomed.map(({ name, reason }) => ({
        name,
        event: this.deletedEvent(attempt, name, reason),
      }));
      await this.deps.deletions.intend(volume, intents, this.deps.audit.batch(reported));
    }
    const pass: PrunePass = { unwritten: deleted, intended: pruned };
    for (const { name, reason } of doomed) {
      deleted.push(await this.prune(attempt, name, reason, pass));
    }
    return { pruned, deleted };
  }

  /**
   * On a driver that deletes inline, a Terminating snapshot seen under the volume's lock is a
   * deletion cut short by a crash (its archive may already be gone): finish it, with its event,
   * before the plan counts it. Returns the snapshots that remain.
   */
  private async finishInterruptedDeletions(
    attempt: Attempt,
    volume: Volume,
    existing: Snapshot[],
  ): Promise<Snapshot[]> {
    if (!existing.some((s) => s.state === 'Terminating')) return existing;
    const caps = await this.deps.driver.capabilities(
      volume,
      attempt.stored.policy.spec.snapshotClassName,
    );
    if (!caps.deletesInline) return existing;
    for (const s of existing.filter((e) => e.state === 'Terminating')) {
      await this.pruneNow(attempt, s.name, INTERRUPTED_DELETION);
    }
    return existing.filter((s) => s.state !== 'Terminating');
  }

  private async plan(attempt: Attempt, volume: Volume, existing: Snapshot[], incoming: boolean) {
    const { stored, data } = attempt;
    const caps = await this.deps.driver.capabilities(volume, stored.policy.spec.snapshotClassName);
    const protectedNames = await this.protectedNames(attempt, volume);
    return planRetention({
      snapshots: existing.map((s) => toPlanSnapshot(s, stored, protectedNames)),
      retention: stored.policy.spec.retention,
      timeZone: stored.policy.spec.timeZone,
      now: this.deps.clock(),
      cap: caps.maxSnapshotsPerVolume,
      reservedSlots: stored.policy.spec.reservedSlots,
      budget: 'scheduled',
      incoming: incoming
        ? { name: data.snapshotName, createdAt: new Date(data.scheduledAt) }
        : undefined,
    });
  }

  /** Snapshots rotation leaves alone, read once per lock hold (see {@link Holding}). */
  private protectedNames(attempt: Attempt, volume: VolumeRef) {
    const read = () => this.deps.protection?.protectedSnapshots(volume);
    if (!attempt.holding) return read();
    attempt.holding.protectedNames ??= read();
    return attempt.holding.protectedNames;
  }

  /** Deletes one snapshot and reports it at once (see `deleteReported`). */
  private async pruneNow(attempt: Attempt, name: string, reason: string): Promise<void> {
    await deleteReported(
      this.deps,
      attempt.data.volume,
      { ...this.deletedEvent(attempt, name, reason), snapshot: name },
      (error) => this.deleteFailedEvent(attempt, name, reason, error),
    );
  }

  /**
   * Deletes one snapshot of a pass whose intents are written, and returns its event; the
   * caller writes it, with the removal of the pass's intents. If the deletion call fails and
   * the snapshot is still there (see `deletedDespite`), the failure is written at once, after
   * `pass.unwritten` (earlier deletions of the same pass), and every intent of the pass is
   * removed with it: the failure is on record, and what the pass did not delete stays for the
   * next rotation to decide again.
   */
  private async prune(
    attempt: Attempt,
    name: string,
    reason: string,
    pass: PrunePass,
  ): Promise<AuditEventInput> {
    const started = Date.now();
    const ref = { namespace: attempt.data.volume.namespace, name };
    let deleted = this.deletedEvent(attempt, name, reason);
    try {
      await this.deps.driver.deleteSnapshot(ref);
    } catch (error) {
      const despite = await deletedDespite(this.deps.driver, ref, deleted, error);
      if (!despite) {
        const failure = this.deleteFailedEvent(attempt, name, reason, error);
        const events = this.deps.audit.batch([...pass.unwritten, failure]);
        await this.deps.deletions.settle(attempt.data.volume, pass.intended, events);
        throw error;
      }
      deleted = despite;
    }
    return { ...deleted, durationMs: Date.now() - started };
  }

  /** The event of a deletion by this job. */
  private deletedEvent(attempt: Attempt, name: string, reason: string): AuditEventInput {
    return this.event(attempt.data, {
      type: 'snapshot.deleted',
      outcome: 'succeeded',
      snapshot: name,
      reason,
      jobId: attempt.jobId,
    });
  }

  /** The event of this job's deletion that failed. */
  private deleteFailedEvent(
    attempt: Attempt,
    name: string,
    reason: string,
    error: unknown,
  ): AuditEventInput {
    return this.event(attempt.data, {
      type: 'snapshot.delete-failed',
      outcome: 'failed',
      snapshot: name,
      reason,
      error: errorText(error),
      jobId: attempt.jobId,
    });
  }

  private labels(stored: StoredPolicy, data: SnapshotJobData): Record<string, string> {
    return {
      ...(stored.policy.spec.snapshotLabels ?? {}),
      [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
      [LABEL_POLICY]: labelValue(stored.policy.metadata.name),
      [LABEL_VOLUME]: labelValue(data.volume.name),
      [LABEL_SCHEDULED_AT]: formatScheduledAt(new Date(data.scheduledAt)),
    };
  }

  /** Fails the volume for good (called with the lock held). */
  private async failFinal(
    attempt: Attempt,
    reason: string,
    type: 'snapshot.failed' | 'snapshot.blocked' = 'snapshot.failed',
  ): Promise<SnapshotStep> {
    const event = this.event(attempt.data, {
      type,
      outcome: 'failed',
      error: reason,
      jobId: attempt.jobId,
    });
    await this.finishLocked(attempt, { state: 'failed', error: reason }, [event]);
    return done({ outcome: 'failed', pruned: [], reason });
  }

  /**
   * Records the volume's result with the lock held: `events` are written, the result lands and
   * the lock and the concurrency marker are released, in one step.
   */
  private async finishLocked(
    attempt: Attempt,
    result: Omit<VolumeRunResult, 'volume' | 'startedAt' | 'finishedAt' | 'durationMs'>,
    events: AuditEventInput[],
    deletions: readonly string[] = [],
  ): Promise<void> {
    const { holding } = attempt;
    holding?.hold.stopRenewing();
    await this.finishVolume(attempt.data, attempt.jobId, result, {
      events,
      lock: holding?.hold.lease,
      // The intents of the deletions `events` report end with them.
      forget:
        deletions.length > 0
          ? { key: this.deps.deletions.key(attempt.data.volume), fields: deletions }
          : undefined,
    });
    if (holding) holding.released = true;
  }

  private async skip(data: SnapshotJobData, jobId: string, reason: string): Promise<SnapshotStep> {
    const events = [this.event(data, { type: 'run.skipped', outcome: 'skipped', reason, jobId })];
    await this.finishVolume(data, jobId, { state: 'skipped', reason }, { events });
    return done({ outcome: 'skipped', pruned: [], reason });
  }

  /**
   * Lands the volume's result in its run and releases the concurrency marker, and with them,
   * in the same atomic step, writes `events` and releases `lock` (if still the job's).
   */
  private async finishVolume(
    data: SnapshotJobData,
    jobId: string,
    result: Omit<VolumeRunResult, 'volume' | 'startedAt' | 'finishedAt' | 'durationMs'>,
    also: {
      events?: AuditEventInput[];
      lock?: Lease;
      forget?: { key: string; fields: readonly string[] };
    } = {},
  ) {
    const now = this.deps.clock();
    const { policyKey, volume, concurrencyPolicy } = data;
    const marker = this.deps.activeRuns.lease(policyKey, volume.uid, jobId, concurrencyPolicy);
    const release = [also.lock, marker].filter((lease) => lease !== undefined);
    const startedAt = data.startedAt ?? now.toISOString();
    await recordVolumeResult(
      this.deps,
      {
        runId: data.runId,
        policyKey: data.policyKey,
        namespace: data.volume.namespace,
        trigger: data.trigger,
      },
      {
        volume: data.volume.name,
        ...result,
        startedAt,
        finishedAt: now.toISOString(),
        durationMs: Math.max(0, now.getTime() - Date.parse(startedAt)),
      },
      { events: this.deps.audit.batch(also.events ?? [], now), forget: also.forget, release },
    );
  }

  private async isReplaced(stored: StoredPolicy, data: SnapshotJobData, jobId: string) {
    if (stored.policy.spec.concurrencyPolicy !== 'Replace') return false;
    return this.deps.activeRuns.isReplaced(data.policyKey, data.volume.uid, jobId);
  }

  /**
   * A job whose volume the run already recorded (an earlier attempt got that far and died, or
   * the run was closed without it): it still releases what it holds, and a snapshot it left
   * behind that the run does not count as succeeded is deleted, with the reason, so that the
   * disk never says more than the history.
   */
  private async settleFinished(
    data: SnapshotJobData,
    jobId: string,
    result: VolumeRunResult,
  ): Promise<SnapshotStep> {
    const lockKey = `${data.volume.namespace}/${data.volume.name}`;
    if (result.state === 'succeeded' && result.snapshot === data.snapshotName) {
      await this.deps.locks.release(lockKey, jobId);
    } else {
      const { lockTtlMs, busyRetryMs } = this.deps.timings;
      const held = await this.deps.locks.withLock(lockKey, jobId, lockTtlMs, () =>
        this.discardLeftover(data, jobId, result),
      );
      if (!held) return { kind: 'wait', delayMs: busyRetryMs, reason: 'volume-busy', data };
    }
    const { policyKey, volume, concurrencyPolicy } = data;
    await this.deps.activeRuns.finish(policyKey, volume.uid, jobId, concurrencyPolicy);
    return done({
      outcome: 'skipped',
      pruned: [],
      reason: 'volume already finished in this run',
    });
  }

  private async discardLeftover(data: SnapshotJobData, jobId: string, result: VolumeRunResult) {
    const ref = { namespace: data.volume.namespace, name: data.snapshotName };
    const leftover = await this.deps.driver.getSnapshot(ref);
    if (!leftover || leftover.volumeName !== data.volume.name) return;
    const reason = `run recorded the volume as ${result.state}; the snapshot this job left ${leftover.readyToUse ? 'is outside the run' : 'half-built'} is removed`;
    const deleted = { type: 'snapshot.deleted', outcome: 'succeeded', reason, jobId } as const;
    await deleteReported(
      this.deps,
      data.volume,
      { ...this.event(data, deleted), snapshot: ref.name },
      (error) =>
        this.event(data, {
          ...deleted,
          type: 'snapshot.delete-failed',
          outcome: 'failed',
          error: errorText(error),
        }),
    );
  }

  private async emit(
    data: SnapshotJobData,
    event: Omit<AuditEventInput, 'trigger'> & { trigger?: string },
  ) {
    await this.deps.audit.append(this.event(data, event));
  }

  /** An audit event about this job's volume and snapshot, with who did the work. */
  private event(
    data: SnapshotJobData,
    event: Omit<AuditEventInput, 'trigger'> & { trigger?: string },
  ): AuditEventInput {
    return {
      trigger: data.trigger,
      policy: data.policyKey,
      namespace: data.volume.namespace,
      volume: data.volume.name,
      snapshot: data.snapshotName,
      runId: data.runId,
      ...event,
      attributes: { ...event.attributes, worker: this.deps.identity },
    };
  }
}

function done(result: SnapshotJobResult): SnapshotStep {
  return { kind: 'done', result };
}

function toPlanSnapshot(
  s: Snapshot,
  stored: StoredPolicy,
  protectedNames: ReadonlySet<string> | undefined,
): PlanSnapshot {
  const managed =
    s.labels[LABEL_MANAGED_BY] === MANAGED_BY_VALUE &&
    s.labels[LABEL_POLICY] === stored.policy.metadata.name &&
    s.labels[LABEL_ON_DEMAND] === undefined;
  let protectedBy: string | undefined;
  if (s.labels[LABEL_KEEP] === KEEP_VALUE) protectedBy = PROTECTED_BY_KEEP_LABEL;
  else if (protectedNames?.has(s.name)) protectedBy = PROTECTED_BY_RESTORE;
  // On-demand snapshots count against the reserved slots first, and rotation never takes them.
  else if (s.labels[LABEL_ON_DEMAND] !== undefined) protectedBy = PROTECTED_BY_ON_DEMAND;
  return {
    name: s.name,
    createdAt: s.createdAt,
    state: s.state,
    readyToUse: s.readyToUse,
    managed,
    protectedBy,
  };
}
