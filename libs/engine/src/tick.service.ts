import { jitterMs } from '#lib/policy';
import { scheduledRunId, snapshotJobId, type SnapshotJobData, type TickJobData } from '#lib/queues';
import { scheduledSnapshotName } from '#lib/policy';
import type { Volume } from '#lib/storage';
import type { EngineDeps } from './engine-deps.js';
import type { StoredPolicy } from './policy-store.js';
import { announceRunEnd, recordVolumeResult } from './run-recorder.js';
import { notifyRunEnd } from './run-observer.js';
import { selectVolumes, type SkippedVolume } from './volume-selection.js';

/** A snapshot job the tick asks the queue to add. */
export interface SnapshotJobRequest {
  id: string;
  data: SnapshotJobData;
  delayMs: number;
}

/**
 * Turns one tick of one policy into one snapshot job per selected volume. Deterministic and
 * idempotent (invariant 3): a retried tick, or the same tick seen by another replica, yields
 * the same run id, job ids and snapshot names, so nothing is doubled.
 */
export class TickService {
  constructor(private readonly deps: EngineDeps) {}

  async handle(tick: TickJobData, scheduledAt: Date): Promise<SnapshotJobRequest[]> {
    const stored = await this.deps.policies.get(tick.policyKey);
    if (!stored || stored.policy.spec.suspend) return [];
    const now = this.deps.clock();
    const runId = scheduledRunId(stored.key, scheduledAt.getTime());
    if (this.isMissed(stored, scheduledAt, now)) {
      await this.recordMiss(stored, runId, scheduledAt, now);
      return [];
    }
    const namespace = stored.policy.metadata.namespace ?? 'default';
    const { selected, skipped } = selectVolumes(
      await this.deps.driver.listVolumes(namespace),
      stored.policy.spec,
    );
    const { created, record } = await this.deps.runs.start({
      id: runId,
      kind: 'scheduled',
      policy: stored.key,
      namespace,
      trigger: 'schedule',
      scheduledAt,
      volumes: [...selected.map((v) => v.name), ...skipped.map((s) => s.name)],
    });
    if (created) {
      await this.deps.audit.append({
        type: 'run.started',
        outcome: 'started',
        trigger: 'schedule',
        policy: stored.key,
        namespace,
        runId,
        message: `${selected.length} volume(s) selected, ${skipped.length} skipped`,
        attributes: { scheduledAt: scheduledAt.toISOString() },
      });
    }
    if (created && record.state !== 'running') {
      // A run that selected nothing is finished as soon as it starts.
      const ref = { runId, policyKey: stored.key, namespace, trigger: 'schedule' };
      await announceRunEnd(this.deps, ref, record);
    }
    await this.recordSkipped(stored, runId, skipped);
    return this.admit(stored, runId, scheduledAt, selected);
  }

  private isMissed(stored: StoredPolicy, scheduledAt: Date, now: Date): boolean {
    const deadline = stored.policy.spec.startingDeadlineSeconds;
    if (deadline === undefined) return false;
    const due = scheduledAt.getTime() + jitterMs(stored.key, stored.policy.spec.jitterSeconds);
    return now.getTime() - due > deadline * 1000;
  }

  private async recordMiss(stored: StoredPolicy, runId: string, at: Date, now: Date) {
    const lateBy = Math.round((now.getTime() - at.getTime()) / 1000);
    const message = `tick of ${at.toISOString()} started ${lateBy}s late, past startingDeadlineSeconds ${stored.policy.spec.startingDeadlineSeconds}`;
    const namespace = stored.policy.metadata.namespace ?? 'default';
    const { created, record } = await this.deps.runs.start({
      id: runId,
      kind: 'scheduled',
      policy: stored.key,
      namespace,
      trigger: 'schedule',
      scheduledAt: at,
      volumes: [],
      state: 'missed',
      message,
    });
    if (created) {
      await this.deps.audit.append({
        type: 'run.missed',
        outcome: 'missed',
        trigger: 'schedule',
        policy: stored.key,
        namespace,
        runId,
        message,
      });
      await notifyRunEnd(this.deps.runObserver, record, stored.key);
    }
  }

  private async recordSkipped(stored: StoredPolicy, runId: string, skipped: SkippedVolume[]) {
    for (const volume of skipped) {
      await this.skipVolume(stored, runId, volume.name, volume.reason);
    }
  }

  private async skipVolume(stored: StoredPolicy, runId: string, volume: string, reason: string) {
    const now = this.deps.clock().toISOString();
    await recordVolumeResult(
      this.deps,
      {
        runId,
        policyKey: stored.key,
        namespace: stored.policy.metadata.namespace ?? 'default',
        trigger: 'schedule',
      },
      { volume, state: 'skipped', reason, finishedAt: now },
    );
    await this.deps.audit.append({
      type: 'run.skipped',
      outcome: 'skipped',
      trigger: 'schedule',
      policy: stored.key,
      namespace: stored.policy.metadata.namespace ?? 'default',
      volume,
      runId,
      reason,
    });
  }

  private async admit(
    stored: StoredPolicy,
    runId: string,
    scheduledAt: Date,
    volumes: Volume[],
  ): Promise<SnapshotJobRequest[]> {
    const delayMs = jitterMs(stored.key, stored.policy.spec.jitterSeconds);
    const jobs: SnapshotJobRequest[] = [];
    for (const volume of volumes) {
      const id = snapshotJobId(stored.uid, volume.uid, scheduledAt.getTime());
      const decision = await this.deps.activeRuns.admit(
        stored.key,
        volume.uid,
        id,
        stored.policy.spec.concurrencyPolicy,
      );
      if (!decision.admitted) {
        const reason = `previous run still in progress (${decision.blockedBy}); concurrencyPolicy Forbid`;
        await this.skipVolume(stored, runId, volume.name, reason);
        continue;
      }
      jobs.push({ id, delayMs, data: this.jobData(stored, runId, scheduledAt, volume) });
    }
    return jobs;
  }

  private jobData(
    stored: StoredPolicy,
    runId: string,
    scheduledAt: Date,
    volume: Volume,
  ): SnapshotJobData {
    return {
      runId,
      policyKey: stored.key,
      volume: { namespace: volume.namespace, name: volume.name, uid: volume.uid },
      snapshotName: scheduledSnapshotName(stored.policy.metadata.name, volume.name, scheduledAt),
      scheduledAt: scheduledAt.toISOString(),
      trigger: 'schedule',
      concurrencyPolicy: stored.policy.spec.concurrencyPolicy,
    };
  }
}
