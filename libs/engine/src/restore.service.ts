import type { AuditEventInput } from '#lib/audit';
import type { RestoreRequestSpec } from '#lib/policy';
import type { RestoreJobData } from '#lib/queues';
import {
  interruptionNote,
  InvalidRequestError,
  parseQuantity,
  type OperationReport,
  type Snapshot,
  type VolumeRef,
} from '#lib/storage';
import type { EngineDeps } from './engine-deps.js';
import { errorText } from './format.js';
import { quiescedRollback, releaseQuiesced, type QuiesceContext } from './quiesce/quiesce.js';
import { finishRestoreRun, restoreRunId, startRestoreRun } from './operation-runs.js';
import type { RequestStore, RestoreRecord } from './request-store.js';
import type { SnapshotsInUse } from './snapshots-in-use.js';

/** A new RestoreRequest as a caller submits it. */
export interface NewRestoreRequest {
  namespace: string;
  name: string;
  spec: RestoreRequestSpec;
  trigger: string;
  /** `metadata.uid` of the RestoreRequest resource, when it came from one. */
  uid?: string;
}

/** What the worker does with a restore job after one attempt. */
export type RestoreStep =
  { kind: 'done'; phase: 'Succeeded' | 'Failed' } | { kind: 'wait'; delayMs: number };

/**
 * Restores (RestoreRequest). `NewVolume` creates the target claim from the snapshot after the
 * driver has checked the restore rules (size, storage class, access modes, target absent),
 * naming the broken rule's field; `Rollback` only where the driver declares `rollback`. Both
 * hold the lock of the snapshot's source volume, and the snapshot is marked in use (protected
 * from rotation and cleanup) until the restore ends.
 */
export class RestoreService {
  constructor(
    private readonly deps: EngineDeps,
    private readonly store: RequestStore,
    private readonly inUse: SnapshotsInUse,
  ) {}

  /** Records a new restore as `Pending`; false when the name is taken. Caller enqueues it. */
  async create(input: NewRestoreRequest): Promise<boolean> {
    const created = await this.store.create('restore', {
      namespace: input.namespace,
      name: input.name,
      spec: input.spec,
      trigger: input.trigger,
      createdAt: this.deps.clock().toISOString(),
      uid: input.uid,
    });
    const record = created ? await this.status(keyOf(input)) : undefined;
    // Its run starts now, so that it can be followed at once and its duration covers the wait.
    if (record) await startRestoreRun(this.deps, record, await this.sourceVolume(record));
    return created;
  }

  /** The volume a rollback writes (the snapshot's source), when the snapshot can be read. */
  private async sourceVolume(record: RestoreRecord): Promise<string | undefined> {
    if (record.spec.mode !== 'Rollback') return undefined;
    const ref = { namespace: record.namespace, name: record.spec.snapshotName };
    return (await this.deps.driver.getSnapshot(ref).catch(() => undefined))?.volumeName;
  }

  /** Takes back a restore whose enqueue failed, unless it has started; true when removed. */
  discard(restoreKey: string): Promise<boolean> {
    return this.store.discard('restore', restoreKey);
  }

  async status(restoreKey: string): Promise<RestoreRecord | undefined> {
    return this.store.get<RestoreRequestSpec>('restore', restoreKey);
  }

  /** One attempt: waits (delayed) while the source volume is busy; otherwise restores. */
  async run(data: RestoreJobData, jobId: string): Promise<RestoreStep> {
    const record = await this.status(data.restoreKey);
    if (!record) return { kind: 'done', phase: 'Failed' };
    const ended = finalPhase(record);
    if (ended) {
      await this.closeRun(record);
      return { kind: 'done', phase: ended };
    }
    const snapshot = await this.deps.driver.getSnapshot({
      namespace: record.namespace,
      name: record.spec.snapshotName,
    });
    if (!snapshot) {
      return this.finish(
        record,
        'Failed',
        `snapshot ${record.spec.snapshotName} not found`,
        'spec.snapshotName',
      );
    }
    const lockKey = `${snapshot.namespace}/${snapshot.volumeName}`;
    const { lockTtlMs, busyRetryMs } = this.deps.timings;
    const held = await this.deps.locks.withLock(lockKey, jobId, lockTtlMs, async () => {
      await this.inUse.add(snapshot.namespace, snapshot.name, data.restoreKey);
      let step: RestoreStep | undefined;
      try {
        step = await this.restore(record, snapshot);
        return step;
      } finally {
        // A restored claim still provisioning reads the snapshot: it stays protected.
        if (step?.kind !== 'wait') {
          await this.inUse.remove(snapshot.namespace, snapshot.name, data.restoreKey);
        }
      }
    });
    return held ? held.value : { kind: 'wait', delayMs: busyRetryMs };
  }

  /** Records a restore that will not be retried as failed, and releases its snapshot. */
  async fail(data: RestoreJobData, error: unknown): Promise<void> {
    const record = await this.status(data.restoreKey);
    if (!record) return;
    if (record.spec.mode === 'Rollback') {
      // Workloads an attempt scaled down (found by their annotations) get their replicas back.
      const volume = { namespace: record.namespace, name: '' };
      await releaseQuiesced(this.deps, this.quiesceContext(record, volume));
    }
    await this.finish(record, 'Failed', errorText(error));
    await this.inUse.remove(record.namespace, record.spec.snapshotName, data.restoreKey);
  }

  private async restore(record: RestoreRecord, snapshot: Snapshot): Promise<RestoreStep> {
    if (record.phase === 'Pending') {
      // Once, with its event: a re-check keeps the first attempt's start, from which the ready
      // timeout counts (before, every re-check moved it, and a claim that never bound was
      // re-checked for ever, each time with a new `restore.started`).
      const startedAt = this.deps.clock().toISOString();
      const started = this.deps.audit.batch([
        this.event(record, { type: 'restore.started', outcome: 'started' }, snapshot),
      ]);
      const running = { phase: 'Running' as const, startedAt };
      if (await this.store.update('restore', keyOf(record), running, started, 'Pending')) {
        record = { ...record, ...running };
      }
    }
    await startRestoreRun(this.deps, record, snapshot.volumeName);
    try {
      if (record.spec.mode === 'Rollback') {
        const report = await this.rollback(record, snapshot);
        return await this.finish(
          record,
          'Succeeded',
          `rolled ${snapshot.volumeName} back${interruptionNote(report)}`,
          undefined,
          snapshot.volumeName,
        );
      }
      // An earlier attempt created the claim: wait for it rather than refuse an existing target.
      const created =
        record.claimName === undefined ? await this.newVolume(record, snapshot) : undefined;
      const claim = record.claimName ?? created?.name ?? '';
      if (record.claimName === undefined) {
        await this.store.update('restore', keyOf(record), { phase: 'Running', claimName: claim });
      }
      const note = interruptionNote(created);
      return await this.untilBound(record, claim, record.claimName === undefined, note);
    } catch (error) {
      if (!(error instanceof InvalidRequestError)) throw error;
      return this.finish(record, 'Failed', error.message, specField(error.field));
    }
  }

  /**
   * A restore succeeds once its new claim is Bound (provisioned from the snapshot); until then
   * the job re-checks and the snapshot stays protected. A claim gone or Lost, or not Bound
   * within the ready timeout, fails the restore.
   */
  private async untilBound(
    record: RestoreRecord,
    claim: string,
    justCreated: boolean,
    note = '',
  ): Promise<RestoreStep> {
    const volume = await this.deps.driver.getVolume({ namespace: record.namespace, name: claim });
    if (volume?.phase === 'Bound') {
      return this.finish(record, 'Succeeded', `restored into ${claim}${note}`, undefined, claim);
    }
    // A claim created a moment ago may not have reached the driver's cache yet.
    if ((volume === undefined && !justCreated) || volume?.phase === 'Lost') {
      const what = volume === undefined ? 'disappeared' : 'is Lost';
      return this.finish(record, 'Failed', `restored claim ${claim} ${what}`, undefined, claim);
    }
    const { readyTimeoutMs, readyRecheckMs } = this.deps.timings;
    const since = Date.parse(record.startedAt ?? record.createdAt);
    if (this.deps.clock().getTime() - since > readyTimeoutMs) {
      const message = `restored claim ${claim} not Bound after ${Math.round(readyTimeoutMs / 1000)}s`;
      return this.finish(record, 'Failed', message, undefined, claim);
    }
    return { kind: 'wait', delayMs: Math.min(readyRecheckMs, 1_000) };
  }

  private async rollback(
    record: RestoreRecord,
    snapshot: Snapshot,
  ): Promise<OperationReport | void> {
    const volume = { namespace: snapshot.namespace, name: snapshot.volumeName };
    // The snapshot's own class decides, not the default class of the claim's provisioner.
    const caps = await this.deps.driver.capabilities(volume, snapshot.snapshotClassName);
    if (!caps.rollback) {
      throw new InvalidRequestError(
        `the ${this.deps.driver.name} driver cannot roll a volume back; use mode NewVolume`,
        'mode',
      );
    }
    let report: OperationReport | void = undefined;
    await quiescedRollback(this.deps, this.quiesceContext(record, volume), async () => {
      report = await this.deps.driver.rollback(snapshot);
    });
    return report;
  }

  private quiesceContext(record: RestoreRecord, volume: VolumeRef): QuiesceContext {
    return {
      volume,
      quiesce: record.spec.quiesce ?? 'None',
      owner: keyOf(record),
      status: async (quiesce) => {
        await this.store.update('restore', keyOf(record), { phase: 'Running', quiesce });
      },
      audit: (event) => this.audit(record, event),
    };
  }

  private async newVolume(
    record: RestoreRecord,
    snapshot: Snapshot,
  ): Promise<OperationReport & { name: string }> {
    const target = record.spec.target;
    if (!target) throw new InvalidRequestError('target is required for mode NewVolume', 'target');
    const sizeBytes = target.size === undefined ? undefined : parseQuantity(target.size);
    const volume = await this.deps.driver.restoreToNewVolume({
      snapshot,
      target: {
        namespace: record.namespace,
        name: target.claimName,
        storageClassName: target.storageClassName,
        accessModes: target.accessModes,
        sizeBytes,
      },
    });
    return volume;
  }

  private async finish(
    record: RestoreRecord,
    phase: 'Succeeded' | 'Failed',
    message: string,
    field?: string,
    claimName?: string,
  ): Promise<RestoreStep> {
    // The restore's end and its event in one step (see `RequestStore.update`).
    const ended = this.deps.audit.batch([
      this.event(record, {
        type: phase === 'Succeeded' ? 'restore.succeeded' : 'restore.failed',
        outcome: phase === 'Succeeded' ? 'succeeded' : 'failed',
        volume: claimName,
        message,
        error: phase === 'Failed' ? message : undefined,
        reason: field,
        durationMs: this.deps.clock().getTime() - Date.parse(record.createdAt),
      }),
    ]);
    const patch = { phase, message, field, claimName, finishedAt: this.deps.clock().toISOString() };
    const applied = await this.store.update('restore', keyOf(record), patch, ended);
    if (applied) {
      await finishRestoreRun(this.deps, record, phase, message);
    } else {
      const stored = await this.status(keyOf(record));
      if (stored) await this.closeRun(stored);
    }
    return { kind: 'done', phase };
  }

  /**
   * Lands a final restore's result in its run, when an attempt that ended the restore died
   * before it did (its retry finds the restore final). Changes nothing when the run has it.
   */
  private async closeRun(record: RestoreRecord): Promise<void> {
    const phase = finalPhase(record);
    if (phase) await finishRestoreRun(this.deps, record, phase, record.message ?? '');
  }

  private async audit(
    record: RestoreRecord,
    event: Omit<AuditEventInput, 'trigger' | 'namespace'>,
    snapshot?: Snapshot,
  ): Promise<void> {
    await this.deps.audit.append(this.event(record, event, snapshot));
  }

  /** An event of the restore, with its snapshot, run, mode and the worker that reports it. */
  private event(
    record: RestoreRecord,
    event: Omit<AuditEventInput, 'trigger' | 'namespace'>,
    snapshot?: Snapshot,
  ): AuditEventInput {
    return {
      trigger: record.trigger,
      namespace: record.namespace,
      snapshot: record.spec.snapshotName,
      volume: snapshot?.volumeName,
      runId: restoreRunId(record),
      ...event,
      attributes: {
        restore: record.name,
        mode: record.spec.mode,
        worker: this.deps.identity,
      },
    };
  }
}

function keyOf(record: { namespace: string; name: string }): string {
  return `${record.namespace}/${record.name}`;
}

/** Driver fields (`target.size`, `target.name`) as the request's fields (`spec.target.size`…). */
function specField(field: string | undefined): string | undefined {
  if (field === undefined) return undefined;
  if (field === 'target.name') return 'spec.target.claimName';
  if (field === 'snapshot') return 'spec.snapshotName';
  return `spec.${field}`;
}

/** The phase of a restore that ended, or `undefined` while it has not. */
function finalPhase(record: RestoreRecord): 'Succeeded' | 'Failed' | undefined {
  return record.phase === 'Succeeded' || record.phase === 'Failed' ? record.phase : undefined;
}
