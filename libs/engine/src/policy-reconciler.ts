import { createHash } from 'node:crypto';
import { normalizeSchedule, type BackupPolicy, type FieldError } from '#lib/policy';
import type { AuditEventInput, AuditLog } from '#lib/audit';
import {
  policyKeyOf,
  specHashOf,
  type PolicyProblem,
  type PolicyStore,
  type StoredPolicy,
} from './policy-store.js';

/** Policies stored, announced or scheduled per round trip batch. */
const BATCH = 500;

/**
 * Part of every scheduler fingerprint: raise it when the options given to BullMQ change in a
 * way the upsert's arguments do not show, so that every scheduler is upserted once more.
 */
const SCHEDULER_REVISION = 1;

/** Reports how many of the policies in force have their job scheduler (first pass, readiness). */
export type ReconcileProgress = (applied: number, total: number) => void;

/** Scheduler fingerprints by stored policy: a resync over an unchanged view computes none. */
const fingerprints = new WeakMap<StoredPolicy, string>();

/** One job scheduler as the queue holds it. */
export interface ScheduledEntry {
  key: string;
  pattern?: string;
  tz?: string;
  specHash?: string;
}

/** The port to BullMQ's job schedulers: a cache of the policies, repaired on every resync. */
export interface JobSchedulerPort {
  upsert(key: string, pattern: string, tz: string, specHash: string): Promise<void>;
  remove(key: string): Promise<void>;
  /** The keys of the schedulers that exist now: one cheap read, for drift repair each pass. */
  present(): Promise<Set<string>>;
  list(): Promise<ScheduledEntry[]>;
}

/**
 * What a policy source (files or custom resources) currently says. A problem keeps the stored
 * policy of its `key` running, and every stored policy of its source: a problem of a whole file
 * (`file:x.yaml`) also covers the documents of that file (`file:x.yaml#2`).
 */
export interface DesiredPolicies {
  policies: { policy: BackupPolicy; source: string }[];
  problems: { source: string; key?: string; errors: FieldError[] }[];
}

/** Counts of one reconcile pass, for logs and tests. */
export interface ReconcileResult {
  applied: string[];
  removed: string[];
  invalid: string[];
  upserted: string[];
}

/** The same problem as the one stored: reported already, so nothing to write. */
function sameProblem(
  stored: PolicyProblem | undefined,
  problem: DesiredPolicies['problems'][number],
): boolean {
  return (
    stored !== undefined &&
    stored.key === problem.key &&
    JSON.stringify(stored.errors) === JSON.stringify(problem.errors)
  );
}

/**
 * Makes the job schedulers and the policy store match the policy source: valid policies are
 * stored and scheduled (suspended ones unscheduled), vanished ones removed, drift repaired.
 * A source that fails validation keeps its last valid policy running and is reported, so one
 * bad edit never stops backups that were working.
 */
export class PolicyReconciler {
  constructor(
    private readonly store: PolicyStore,
    private readonly schedulers: JobSchedulerPort,
    private readonly audit: AuditLog,
    private readonly once: (key: string) => Promise<boolean>,
  ) {}

  /**
   * One pass. Work is proportional to what changed: an unchanged policy costs no write, no
   * event and no upsert; the fixed cost is a few whole-hash reads (policies, scheduler
   * fingerprints, BullMQ's scheduler ids).
   */
  async reconcile(
    desired: DesiredPolicies,
    now: Date,
    progress?: ReconcileProgress,
  ): Promise<ReconcileResult> {
    const result: ReconcileResult = { applied: [], removed: [], invalid: [], upserted: [] };
    const stored = new Map(await this.store.current());
    const keep = new Set<string>();
    const changed: { policy: BackupPolicy; source: string }[] = [];
    for (const entry of desired.policies) {
      const key = policyKeyOf(entry.policy);
      keep.add(key);
      const previous = stored.get(key);
      if (previous?.specHash === specHashOf(entry.policy) && previous.source === entry.source) {
        continue;
      }
      changed.push(entry);
    }
    for (let i = 0; i < changed.length; i += BATCH) {
      const applied = await this.store.putMany(changed.slice(i, i + BATCH), now);
      for (const policy of applied) stored.set(policy.key, policy);
      await this.announce(applied);
      result.applied.push(...applied.map((p) => p.key));
    }
    const invalidSources = new Set<string>();
    const known = new Map((await this.store.problems()).map((p) => [p.source, p] as const));
    for (const problem of desired.problems) {
      invalidSources.add(problem.source);
      if (problem.key) keep.add(problem.key);
      result.invalid.push(problem.source);
      if (!sameProblem(known.get(problem.source), problem)) await this.report(problem, now);
    }
    await this.clearSolvedProblems([...known.keys()], invalidSources);
    await this.removeVanished(stored, keep, invalidSources, result);
    await this.repairDrift(stored, result, progress);
    return result;
  }

  /** One `policy.applied` event per applied version, across replicas and restarts. */
  private async announce(applied: readonly StoredPolicy[]) {
    const first = await Promise.all(
      applied.map((p) => this.once(`policy-applied:${p.key}:${p.specHash}`)),
    );
    const events: AuditEventInput[] = applied
      .filter((_, i) => first[i])
      .map(({ key, source, policy }) => ({
        type: 'policy.applied',
        outcome: 'succeeded',
        trigger: source,
        policy: key,
        namespace: policy.metadata.namespace ?? 'default',
        message: `${policy.spec.schedule} (${policy.spec.timeZone})${policy.spec.suspend ? ', suspended' : ''}`,
      }));
    await this.audit.appendMany(events);
  }

  /** A new or changed problem: its event first, then the record that marks it reported. */
  private async report(problem: DesiredPolicies['problems'][number], now: Date) {
    const text = problem.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    const episode = await this.store.problemEpisode(problem.source);
    if (await this.once(`policy-invalid:${problem.source}:${episode}:${text}`)) {
      await this.audit.append({
        type: 'policy.invalid',
        outcome: 'failed',
        trigger: problem.source,
        policy: problem.key,
        error: text,
        message: `${problem.source} rejected`,
      });
    }
    await this.store.setProblem({ ...problem, seenAt: now.toISOString() });
  }

  private async clearSolvedProblems(known: string[], invalid: Set<string>) {
    for (const source of known) {
      if (!invalid.has(source)) await this.store.clearProblem(source);
    }
  }

  private async removeVanished(
    stored: Map<string, StoredPolicy>,
    keep: Set<string>,
    invalid: Set<string>,
    result: ReconcileResult,
  ) {
    const vanished = [...stored.values()].filter(
      (policy) =>
        !keep.has(policy.key) &&
        !invalid.has(policy.source) &&
        !invalid.has(policy.source.replace(/#\d+$/, '')),
    );
    for (const policy of vanished.sort((a, b) => a.key.localeCompare(b.key))) {
      await this.store.remove(policy.key);
      stored.delete(policy.key);
      result.removed.push(policy.key);
      await this.audit.append({
        type: 'policy.removed',
        outcome: 'succeeded',
        trigger: policy.source,
        policy: policy.key,
        namespace: policy.policy.metadata.namespace ?? 'default',
        message: `deletionPolicy ${policy.policy.spec.deletionPolicy}`,
      });
    }
  }

  /**
   * Job schedulers follow the store: one per unsuspended policy, with its pattern and zone.
   * BullMQ's schedulers are a cache: one that vanished from Redis is made again, one whose
   * arguments changed is upserted, and the others are left alone.
   */
  private async repairDrift(
    stored: Map<string, StoredPolicy>,
    result: ReconcileResult,
    progress?: ReconcileProgress,
  ) {
    const wanted = [...stored.values()].filter((s) => !s.policy.spec.suspend);
    const wantedKeys = new Set(wanted.map((s) => s.key));
    const [present, recorded] = await Promise.all([
      this.schedulers.present(),
      this.store.schedulerFingerprints(),
    ]);
    const gone = new Set<string>();
    for (const key of present) if (!wantedKeys.has(key)) gone.add(key);
    for (const key of recorded.keys()) if (!wantedKeys.has(key)) gone.add(key);
    for (const key of gone) {
      if (present.has(key)) await this.schedulers.remove(key);
    }
    await this.store.forgetSchedulerFingerprints([...gone]);
    // Only the schedulers missing or made from other arguments are upserted.
    const stale = wanted
      .filter((s) => !present.has(s.key) || recorded.get(s.key) !== fingerprintOf(s))
      .sort((a, b) => a.key.localeCompare(b.key));
    const total = stored.size;
    progress?.(total - stale.length, total);
    for (let i = 0; i < stale.length; i += BATCH) {
      const batch = stale.slice(i, i + BATCH);
      await Promise.all(batch.map((s) => this.schedulers.upsert(...schedulerArgs(s))));
      await this.store.recordSchedulerFingerprints(batch.map((s) => [s.key, fingerprintOf(s)]));
      result.upserted.push(...batch.map((s) => s.key));
      progress?.(total - stale.length + i + batch.length, total);
    }
  }
}

/** What the job scheduler of `policy` is made from. */
function schedulerArgs(policy: StoredPolicy) {
  return [
    policy.key,
    normalizeSchedule(policy.policy.spec.schedule),
    policy.policy.spec.timeZone,
    policy.specHash,
  ] as const;
}

/** A short hash of the scheduler's arguments, recorded once the scheduler is upserted. */
function fingerprintOf(policy: StoredPolicy): string {
  let fingerprint = fingerprints.get(policy);
  if (fingerprint === undefined) {
    fingerprint = createHash('sha256')
      .update(JSON.stringify([SCHEDULER_REVISION, ...schedulerArgs(policy)]))
      .digest('hex')
      .slice(0, 16);
    fingerprints.set(policy, fingerprint);
  }
  return fingerprint;
}
