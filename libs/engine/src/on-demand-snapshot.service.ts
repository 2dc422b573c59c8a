import type { AuditEventInput } from '#lib/audit';
import { planRetention, type PlanSnapshot } from '#lib/policy';
import type { RequestVolumeJobData } from '#lib/queues';
import { captureMessage, SnapshotTimeoutError, type Snapshot, type Volume } from '#lib/storage';
import type { EngineDeps } from './engine-deps.js';
import { errorText } from './format.js';
import { hookScopeOf, withHooks } from './hooks/with-hooks.js';
import type { SnapshotRequestService } from './snapshot-request.service.js';

/** What the worker does with a request's volume job after one attempt. */
export type OnDemandStep =
  | { kind: 'done'; outcome: 'succeeded' | 'failed'; reason?: string }
  | {
      kind: 'wait';
      delayMs: number;
      reason: 'volume-busy' | 'not-ready';
      data: RequestVolumeJobData;
    };

/**
 * One volume of a SnapshotRequest: with the volume's lock held (the same lease scheduled runs
 * take, invariant 4), check the cap with the on-demand budget (the reserved slots are usable;
 * nothing is ever pruned to make room), create or adopt the snapshot under its deterministic
 * name, and wait for readiness by handing the job back delayed, never by blocking.
 */
export class OnDemandSnapshotService {
  constructor(
    private readonly deps: EngineDeps,
    private readonly requests: SnapshotRequestService,
  ) {}

  /** One attempt of a claim's job; `attempt` names this delivery (see `SnapshotService.run`). */
  async run(data: RequestVolumeJobData, jobId: string, attempt?: string): Promise<OnDemandStep> {
    const done = await this.deps.runs.volumeResult(data.runId, data.volume.name);
    if (done && ['succeeded', 'failed', 'skipped'].includes(done.state)) {
      // A delivery after the one that recorded the claim: that one may have died before it
      // settled the request.
      await this.requests.settleIfClosed(data.requestKey);
      return { kind: 'done', outcome: done.state === 'failed' ? 'failed' : 'succeeded' };
    }
    const lockKey = `${data.volume.namespace}/${data.volume.name}`;
    const { lockTtlMs, busyRetryMs } = this.deps.timings;
    // A job waiting for readiness keeps the volume: no other operation may start meanwhile.
    const held = await this.deps.locks.withLock(
      lockKey,
      jobId,
      lockTtlMs,
      () => this.locked(data, jobId),
      { keepFor: (step) => (step.kind === 'wait' ? step.delayMs : undefined), attempt },
    );
    if (held) return held.value;
    const delayMs = busyRetryMs + Math.floor(Math.random() * busyRetryMs);
    return { kind: 'wait', delayMs, reason: 'volume-busy', data };
  }

  /** Records a job that will not be retried as its claim's failure, and frees the volume. */
  async fail(data: RequestVolumeJobData, jobId: string, error: unknown): Promise<void> {
    await this.failClaim(data, jobId, errorText(error));
    await this.deps.locks.release(`${data.volume.namespace}/${data.volume.name}`, jobId);
  }

  private async locked(data: RequestVolumeJobData, jobId: string): Promise<OnDemandStep> {
    const volume = await this.deps.driver.getVolume(data.volume);
    if (!volume || volume.uid !== data.volume.uid) {
      return this.failClaim(data, jobId, 'volume no longer exists (or was recreated)');
    }
    await this.deps.hooks?.recover(data.volume, jobId);
    const existing = await this.deps.driver.listSnapshots(volume);
    let snapshot = existing.find((s) => s.name === data.snapshotName);
    const startedAt = data.startedAt ?? this.deps.clock().toISOString();
    if (!snapshot) {
      const blocked = await this.blockedReason(data, volume, existing);
      if (blocked) return this.failClaim(data, jobId, blocked, 'snapshot.blocked');
      if (!data.startedAt)
        await this.emit(data, jobId, { type: 'snapshot.started', outcome: 'started' });
      const hooked = await this.createWithHooks(data, jobId, volume);
      if (hooked.error !== undefined || !hooked.value) {
        return this.failClaim(data, jobId, hooked.error ?? 'snapshot not created');
      }
      snapshot = hooked.value;
    }
    return this.awaitReady({ ...data, startedAt }, jobId, snapshot);
  }

  /** Creates the snapshot between the request's hooks; the creation event precedes the post hooks'. */
  private createWithHooks(data: RequestVolumeJobData, jobId: string, volume: Volume) {
    return withHooks(
      this.deps,
      { ...hookScopeOf(data), jobId, attributes: { request: data.requestKey } },
      data.hooks,
      { creating: true },
      async () => {
        const created = await this.deps.driver.createSnapshot({
          volume,
          name: data.snapshotName,
          labels: data.labels,
          snapshotClassName: data.snapshotClassName,
        });
        await this.emit(data, jobId, {
          type: created.adopted ? 'snapshot.adopted' : 'snapshot.created',
          outcome: 'succeeded',
        });
        return created.snapshot;
      },
    );
  }

  /** Why the cap leaves no room (every snapshot counts, the reserved slots are ours). */
  private async blockedReason(data: RequestVolumeJobData, volume: Volume, existing: Snapshot[]) {
    const caps = await this.deps.driver.capabilities(volume, data.snapshotClassName);
    const plan = planRetention({
      // On-demand never prunes: every snapshot is somebody else's to rotate.
      snapshots: existing.map(unmanaged),
      retention: { keepLast: 1 },
      timeZone: 'UTC',
      now: this.deps.clock(),
      cap: caps.maxSnapshotsPerVolume,
      reservedSlots: 0,
      budget: 'on-demand',
      incoming: { name: data.snapshotName, createdAt: this.deps.clock() },
    });
    return plan.canCreate ? undefined : (plan.blockedReason ?? 'limit reached');
  }

  private async awaitReady(
    data: RequestVolumeJobData,
    jobId: string,
    snapshot: Snapshot,
  ): Promise<OnDemandStep> {
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
        return this.failClaim(data, jobId, `not ready within ${readyTimeoutMs / 1000}s`);
      }
    }
    await this.emit(data, jobId, {
      type: 'snapshot.ready',
      outcome: 'succeeded',
      durationMs: Math.max(0, elapsed),
      ...captureMessage(ready),
    });
    const now = this.deps.clock();
    await this.requests.recordClaim(data.requestKey, {
      volume: data.volume.name,
      state: 'succeeded',
      snapshot: data.snapshotName,
      startedAt: data.startedAt,
      finishedAt: now.toISOString(),
      durationMs: Math.max(0, elapsed),
    });
    return { kind: 'done', outcome: 'succeeded' };
  }

  private async failClaim(
    data: RequestVolumeJobData,
    jobId: string,
    reason: string,
    type: 'snapshot.failed' | 'snapshot.blocked' = 'snapshot.failed',
  ): Promise<OnDemandStep> {
    await this.emit(data, jobId, { type, outcome: 'failed', error: reason });
    await this.requests.recordClaim(data.requestKey, {
      volume: data.volume.name,
      state: 'failed',
      snapshot: data.snapshotName,
      error: reason,
      startedAt: data.startedAt,
    });
    return { kind: 'done', outcome: 'failed', reason };
  }

  private async emit(
    data: RequestVolumeJobData,
    jobId: string,
    event: Omit<AuditEventInput, 'trigger'>,
  ): Promise<void> {
    await this.deps.audit.append({
      trigger: data.trigger,
      namespace: data.volume.namespace,
      volume: data.volume.name,
      snapshot: data.snapshotName,
      runId: data.runId,
      jobId,
      ...event,
      attributes: { request: data.requestKey, worker: this.deps.identity },
    });
  }
}

function unmanaged(s: Snapshot): PlanSnapshot {
  return {
    name: s.name,
    createdAt: s.createdAt,
    state: s.state,
    readyToUse: s.readyToUse,
    managed: false,
  };
}
