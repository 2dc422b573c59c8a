import type { AuditEventInput, RunRecord, VolumeRunResult } from '#lib/audit';
import { jitterMs, scheduledSnapshotName } from '#lib/policy';
import { scheduledRunId, snapshotJobId, type SnapshotJobData, type TickJobData } from '#lib/queues';
import type { Volume } from '#lib/storage';
import type { EngineDeps } from './engine-deps.js';
import { ticksBetween } from './missed-ticks.js';
import type { StoredPolicy } from './policy-store.js';
import { runEndEvent } from './run-recorder.js';
import { notifyRunEnd } from './run-observer.js';
import {
  CLAIM_NOT_FOUND,
  admissionMessage,
  decidedAtStart,
  decodeAdmission,
  encodeAdmission,
} from './tick-admission.js';
import { findSelectedVolumes, type SkippedVolume } from './volume-selection.js';

/** A snapshot job the tick asks the queue to add. */
export interface SnapshotJobRequest {
  id: string;
  data: SnapshotJobData;
  delayMs: number;
}

/**
 * Turns one tick of one policy into one snapshot job per admitted volume. The first pass
 * decides which volumes are admitted (selection, `concurrencyPolicy`) and stores that decision
 * with the run in one atomic step; a retried tick, or the same tick seen by another replica,
 * reads it back and returns the same jobs under the same ids (invariant 3), so the history
 * never contradicts what was built. Ticks that never fired since the last one handled (an
 * outage) are recorded as missed first.
 */
export class TickService {
  constructor(private readonly deps: EngineDeps) {}

  async handle(tick: TickJobData, scheduledAt: Date): Promise<SnapshotJobRequest[]> {
    const stored = await this.deps.policies.get(tick.policyKey);
    if (!stored) return [];
    const runId = scheduledRunId(stored.key, scheduledAt.getTime());
    const [last, prior] = await Promise.all([
      this.deps.policies.lastTick(stored.key),
      this.deps.runs.admission(runId),
    ]);
    // The ledger of handled ticks moves forward only after the ticks missed before this one
    // are recorded: a crash in between records them again, never loses them.
    const behind = last === undefined || last < scheduledAt.getTime();
    if (behind && !stored.policy.spec.suspend) await this.recordGap(stored, last, scheduledAt);
    const advance = async () => {
      if (behind) await this.deps.policies.advanceLastTick(stored.key, scheduledAt.getTime());
    };
    if (stored.policy.spec.suspend) {
      await advance();
      return [];
    }
    if (prior) {
      await advance();
      const jobs = decodeAdmission(prior.admission).jobs;
      if (!prior.announced) await this.announceFromStore(stored, runId, jobs);
      return jobs;
    }
    const now = this.deps.clock();
    if (this.isMissed(stored, scheduledAt, now)) {
      const lateBy = Math.round((now.getTime() - scheduledAt.getTime()) / 1000);
      const message = `tick of ${scheduledAt.toISOString()} started ${lateBy}s late, past startingDeadlineSeconds ${stored.policy.spec.startingDeadlineSeconds}`;
      await this.recordMiss(stored, scheduledAt, message);
      await advance();
      return [];
    }
    // The first pass moves the ledger with the run it starts (one step, see `decide`).
    return this.decide(stored, runId, scheduledAt, behind);
  }

  /**
   * First pass: select, admit, and store the decision with the run atomically; a run that
   * starts running is announced, and the ledger moved to this tick (when `advance`), in the
   * same step.
   */
  private async decide(
    stored: StoredPolicy,
    runId: string,
    scheduledAt: Date,
    advance: boolean,
  ): Promise<SnapshotJobRequest[]> {
    const namespace = namespaceOf(stored);
    const { selected, skipped } = await findSelectedVolumes(
      this.deps.driver,
      namespace,
      stored.policy.spec,
    );
    const candidates = selected.map((volume) => this.jobFor(stored, runId, scheduledAt, volume));
    const policy = stored.policy.spec.concurrencyPolicy;
    const decisions = await this.deps.activeRuns.admitMany(
      stored.key,
      candidates.map((job) => ({ volumeUid: job.data.volume.uid, jobId: job.id })),
      policy,
    );
    const now = this.deps.clock().toISOString();
    const decided: VolumeRunResult[] = skipped.map((s) => this.unselected(stored, s, now));
    const jobs: SnapshotJobRequest[] = [];
    candidates.forEach((job, i) => {
      const decision = decisions[i];
      if (!decision || decision.admitted) jobs.push(job);
      else {
        const reason = `previous run still in progress (${decision.blockedBy}); concurrencyPolicy Forbid`;
        decided.push({ volume: job.data.volume.name, state: 'skipped', reason, finishedAt: now });
      }
    });
    const started = await this.deps.runs.start(
      {
        id: runId,
        kind: 'scheduled',
        policy: stored.key,
        namespace,
        trigger: 'schedule',
        scheduledAt,
        volumes: [...candidates.map((j) => j.data.volume.name), ...skipped.map((s) => s.name)],
        decided,
        admission: encodeAdmission({ jobs }),
      },
      undefined,
      {
        // A run that ended at start is announced after it, with its end (see `announce`).
        announce: (run) =>
          run.state === 'running'
            ? this.deps.audit.batch(this.startEvents(stored, run, jobs))
            : undefined,
        advance: advance
          ? { ...this.deps.policies.lastTickRef(stored.key), value: scheduledAt.getTime() }
          : undefined,
      },
    );
    if (!started.created) {
      // Another pass of this tick decided first: its decision stands; give back what we took.
      const kept = decodeAdmission(started.admission).jobs;
      const keptIds = new Set(kept.map((j) => j.id));
      for (const job of jobs.filter((j) => !keptIds.has(j.id))) {
        await this.deps.activeRuns.finish(stored.key, job.data.volume.uid, job.id, policy);
      }
      return kept;
    }
    if (!started.announced) await this.announce(stored, started.record, jobs);
    return jobs;
  }

  /** A claim that does not exist fails its volume; one not bound is skipped. */
  private unselected(stored: StoredPolicy, s: SkippedVolume, now: string): VolumeRunResult {
    if (!s.missing) return { volume: s.name, state: 'skipped', reason: s.reason, finishedAt: now };
    this.deps.log?.warn(
      { policy: stored.key, claim: s.name },
      `policy ${stored.key} names claim ${s.name} in claimNames, which does not exist`,
    );
    return { volume: s.name, state: 'failed', error: CLAIM_NOT_FOUND, finishedAt: now };
  }

  /** `run.started`, then one event per volume decided at start. */
  private startEvents(
    stored: StoredPolicy,
    run: RunRecord,
    jobs: SnapshotJobRequest[],
  ): AuditEventInput[] {
    const base = eventBase(stored, run.id);
    const events: AuditEventInput[] = [
      {
        ...base,
        type: 'run.started',
        outcome: 'started',
        message: admissionMessage(run, jobs.length),
        attributes: { scheduledAt: run.scheduledAt },
      },
    ];
    for (const volume of decidedAtStart(run, jobs)) {
      events.push(
        volume.state === 'failed'
          ? {
              ...base,
              type: 'snapshot.failed',
              outcome: 'failed',
              volume: volume.volume,
              error: volume.error,
            }
          : {
              ...base,
              type: 'run.skipped',
              outcome: 'skipped',
              volume: volume.volume,
              reason: volume.reason,
            },
      );
    }
    return events;
  }

  /**
   * The start events of a run whose start did not write them (`startEvents`), and
   * `run.finished` when nothing was admitted, written after the run with the mark that says so,
   * in one step: a retried tick that finds the mark writes nothing again, one that does not
   * writes them all (before, a run that ended at start had its end appended on its own before
   * the mark, and a crash in between announced it twice).
   */
  private async announce(stored: StoredPolicy, run: RunRecord, jobs: SnapshotJobRequest[]) {
    const events = this.startEvents(stored, run, jobs);
    const ended = run.state !== 'running';
    if (ended) {
      const ref = { runId: run.id, trigger: 'schedule', namespace: namespaceOf(stored) };
      events.push(runEndEvent({ ...ref, policyKey: stored.key }, run));
    }
    await this.deps.runs.markAnnounced(run.id, this.deps.audit.batch(events));
    if (ended) await notifyRunEnd(this.deps.runObserver, run, stored.key);
  }

  private async announceFromStore(stored: StoredPolicy, runId: string, jobs: SnapshotJobRequest[]) {
    const run = await this.deps.runs.get(runId);
    if (run && run.state !== 'missed') await this.announce(stored, run, jobs);
  }

  /**
   * Every tick of the schedule between the last tick handled (or the policy's last change)
   * and this one never fired (the app or Redis was down): each becomes a missed run, under
   * its deterministic run id, so replicas and retries record each gap once.
   */
  private async recordGap(stored: StoredPolicy, last: number | undefined, scheduledAt: Date) {
    const after = Math.max(last ?? 0, Date.parse(stored.appliedAt) || 0);
    const { schedule, timeZone } = stored.policy.spec;
    const missed = ticksBetween(schedule, timeZone, new Date(after), scheduledAt);
    if (missed.ticks.length === 0) return;
    this.deps.log?.warn(
      { policy: stored.key, missed: missed.ticks.length, truncated: missed.truncated },
      `policy ${stored.key}: ${missed.truncated ? 'more than ' : ''}${missed.ticks.length} tick(s) before ${scheduledAt.toISOString()} never fired`,
    );
    for (const [i, at] of missed.ticks.entries()) {
      const earlier = i === 0 && missed.truncated ? '; earlier ticks were missed too' : '';
      const message = `tick of ${at.toISOString()} never fired (snapwarden or Redis was unavailable)${earlier}`;
      await this.recordMiss(stored, at, message);
    }
  }

  private isMissed(stored: StoredPolicy, scheduledAt: Date, now: Date): boolean {
    const deadline = stored.policy.spec.startingDeadlineSeconds;
    if (deadline === undefined) return false;
    const due = scheduledAt.getTime() + jitterMs(stored.key, stored.policy.spec.jitterSeconds);
    return now.getTime() - due > deadline * 1000;
  }

  private async recordMiss(stored: StoredPolicy, at: Date, message: string) {
    const namespace = namespaceOf(stored);
    const runId = scheduledRunId(stored.key, at.getTime());
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
    if (!created) return;
    await this.deps.audit.append({
      type: 'run.missed',
      outcome: 'missed',
      trigger: 'schedule',
      policy: stored.key,
      namespace,
      runId,
      message,
      attributes: { scheduledAt: at.toISOString() },
    });
    await notifyRunEnd(this.deps.runObserver, record, stored.key);
  }

  private jobFor(
    stored: StoredPolicy,
    runId: string,
    scheduledAt: Date,
    volume: Volume,
  ): SnapshotJobRequest {
    return {
      id: snapshotJobId(stored.uid, volume.uid, scheduledAt.getTime()),
      delayMs: jitterMs(stored.key, stored.policy.spec.jitterSeconds),
      data: {
        runId,
        policyKey: stored.key,
        volume: { namespace: volume.namespace, name: volume.name, uid: volume.uid },
        snapshotName: scheduledSnapshotName(stored.policy.metadata.name, volume.name, scheduledAt),
        scheduledAt: scheduledAt.toISOString(),
        trigger: 'schedule',
        concurrencyPolicy: stored.policy.spec.concurrencyPolicy,
      },
    };
  }
}

/** What every event of a scheduled run of `stored` carries. */
function eventBase(stored: StoredPolicy, runId: string) {
  return { trigger: 'schedule', policy: stored.key, namespace: namespaceOf(stored), runId };
}

function namespaceOf(stored: StoredPolicy): string {
  return stored.policy.metadata.namespace ?? 'default';
}
