import { normalizeSchedule, type BackupPolicy, type FieldError } from '#lib/policy';
import type { AuditLog } from '#lib/audit';
import { policyKeyOf, specHashOf, type PolicyStore } from './policy-store.js';

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

  async reconcile(desired: DesiredPolicies, now: Date): Promise<ReconcileResult> {
    const result: ReconcileResult = { applied: [], removed: [], invalid: [], upserted: [] };
    const keep = new Set<string>();
    for (const { policy, source } of desired.policies) {
      keep.add(policyKeyOf(policy));
      await this.apply(policy, source, now, result);
    }
    const invalidSources = new Set<string>();
    for (const problem of desired.problems) {
      invalidSources.add(problem.source);
      if (problem.key) keep.add(problem.key);
      await this.report(problem, now, result);
    }
    await this.clearSolvedProblems(invalidSources);
    await this.removeVanished(keep, invalidSources, result);
    await this.repairDrift(result);
    return result;
  }

  private async apply(policy: BackupPolicy, source: string, now: Date, result: ReconcileResult) {
    const key = policyKeyOf(policy);
    const previous = await this.store.get(key);
    const stored =
      previous && previous.specHash === specHashOf(policy) && previous.source === source
        ? previous
        : await this.store.put(policy, source, now);
    if (stored !== previous) {
      result.applied.push(key);
      if (await this.once(`policy-applied:${key}:${stored.specHash}`)) {
        await this.audit.append({
          type: 'policy.applied',
          outcome: 'succeeded',
          trigger: source,
          policy: key,
          namespace: policy.metadata.namespace ?? 'default',
          message: `${policy.spec.schedule} (${policy.spec.timeZone})${policy.spec.suspend ? ', suspended' : ''}`,
        });
      }
    }
  }

  private async report(
    problem: DesiredPolicies['problems'][number],
    now: Date,
    result: ReconcileResult,
  ) {
    result.invalid.push(problem.source);
    const text = problem.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    await this.store.setProblem({ ...problem, seenAt: now.toISOString() });
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
  }

  private async clearSolvedProblems(invalid: Set<string>) {
    for (const problem of await this.store.problems()) {
      if (!invalid.has(problem.source)) await this.store.clearProblem(problem.source);
    }
  }

  private async removeVanished(keep: Set<string>, invalid: Set<string>, result: ReconcileResult) {
    for (const stored of await this.store.list()) {
      const file = stored.source.replace(/#\d+$/, '');
      if (keep.has(stored.key) || invalid.has(stored.source) || invalid.has(file)) continue;
      await this.store.remove(stored.key);
      result.removed.push(stored.key);
      await this.audit.append({
        type: 'policy.removed',
        outcome: 'succeeded',
        trigger: stored.source,
        policy: stored.key,
        namespace: stored.policy.metadata.namespace ?? 'default',
        message: `deletionPolicy ${stored.policy.spec.deletionPolicy}`,
      });
    }
  }

  /** Job schedulers follow the store: one per unsuspended policy, with its pattern and zone. */
  private async repairDrift(result: ReconcileResult) {
    const wanted = new Map(
      (await this.store.list())
        .filter((s) => !s.policy.spec.suspend)
        .map((s) => [s.key, s] as const),
    );
    const present = new Map((await this.schedulers.list()).map((e) => [e.key, e] as const));
    for (const [key, entry] of present) {
      if (!wanted.has(key)) await this.schedulers.remove(entry.key);
    }
    for (const [key, stored] of wanted) {
      const pattern = normalizeSchedule(stored.policy.spec.schedule);
      const tz = stored.policy.spec.timeZone;
      const entry = present.get(key);
      if (entry?.pattern === pattern && entry?.tz === tz && entry?.specHash === stored.specHash) {
        continue;
      }
      await this.schedulers.upsert(key, pattern, tz, stored.specHash);
      result.upserted.push(key);
    }
  }
}
