import type { RunRecord } from '#lib/audit';
import type { PolicyStore } from './policy-store.js';
import { nextRunTime, runEndStatus, type PolicyStatus } from './policy-status.js';
import type { RunObserver } from './run-observer.js';

/** The policy object a status or an event is about. */
export interface PolicyObjectRef {
  namespace: string;
  name: string;
  uid: string;
}

/** A Kubernetes Event on a policy. */
export interface PolicyEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Where policy status and events go: the BackupPolicy status subresource and core Events. */
export interface PolicyStatusPort {
  /** Merges `status` into the object's status (retried on conflict by the implementation). */
  patchStatus(ref: PolicyObjectRef, status: PolicyStatus): Promise<void>;
  recordEvent(ref: PolicyObjectRef, event: PolicyEvent): Promise<void>;
}

/** What the observer needs besides the port. */
export interface PolicyStatusObserverDeps {
  policies: Pick<PolicyStore, 'get'>;
  port: PolicyStatusPort;
  /** Adds one to the policy's missed-run counter shared by every replica; returns the total. */
  countMissed: (policyKey: string) => Promise<number>;
  /**
   * Stores `event` (e.g. `<uid> RunSucceeded`) as the last Event of the policy's runs, shared by
   * every replica, and returns the one stored before (undefined when none). Absent: every run
   * gets its Event.
   */
  swapLastEvent?: (policyKey: string, event: string) => Promise<string | undefined>;
  /**
   * Remembers, shared by every replica, that the status and Event of run `runId` reached the
   * policy: what `catchUpPolicyStatus` compares each policy's latest run with.
   */
  markTold?: (policyKey: string, runId: string) => Promise<void>;
  clock: () => Date;
  onError: (error: unknown, context: { policy: string; runId: string; action: string }) => void;
}

/**
 * Kubernetes mode's {@link RunObserver}: after each run of a policy, its status gets
 * `lastRunTime`, `lastSuccessTime`, `lastRun` (id, result, volume counts), `nextRunTime` and
 * `missedRuns`, and the policy gets an Event (`Normal RunSucceeded`, `Warning RunFailed` with
 * the counts and the first error, `Warning RunMissed`). A Warning is recorded for every run that
 * did not succeed; a Normal Event only when it differs from the policy's previous run Event (the
 * first success, the first after a failure), since a steady stream of successes would cost the
 * API server a request per run and tell nothing the status (`lastRun`, `lastSuccessTime`) and
 * the audit log do not. A failed write is reported through `onError`, never thrown: the run's own
 * result stands, and as the run is not marked told ({@link PolicyStatusObserverDeps.markTold}),
 * `catchUpPolicyStatus` writes it again later.
 */
export class PolicyStatusObserver implements RunObserver {
  constructor(private readonly deps: PolicyStatusObserverDeps) {}

  async runFinished(run: RunRecord, policyKey: string): Promise<void> {
    const stored = await this.deps.policies.get(policyKey).catch(() => undefined);
    if (!stored) return;
    const ref: PolicyObjectRef = {
      namespace: stored.policy.metadata.namespace ?? 'default',
      name: stored.policy.metadata.name,
      uid: stored.uid,
    };
    const status = runEndStatus(run, nextRunTime(stored.policy, policyKey, this.deps.clock()));
    if (run.state === 'missed') {
      status.missedRuns = await this.deps.countMissed(policyKey).catch(() => undefined);
    }
    const context = { policy: policyKey, runId: run.id };
    const patched = await this.attempt(context, 'patch status', () =>
      this.deps.port.patchStatus(ref, status),
    );
    const event = runEvent(run);
    const told =
      !(await this.isNews(policyKey, ref.uid, event)) ||
      (await this.attempt(context, 'create event', () => this.deps.port.recordEvent(ref, event)));
    const markTold = this.deps.markTold;
    if (patched && told && markTold) {
      await this.attempt(context, 'remember the run told', () => markTold(policyKey, run.id));
    }
  }

  /**
   * Whether the Event tells something new: always for a Warning, else when the policy's previous
   * run Event (of this uid: a re-created policy starts afresh) had another reason. When the last
   * Event cannot be read, it is recorded.
   */
  private async isNews(policyKey: string, uid: string, event: PolicyEvent): Promise<boolean> {
    const swap = this.deps.swapLastEvent;
    if (!swap) return true;
    const current = `${uid} ${event.reason}`;
    const previous = await swap(policyKey, current).catch(() => undefined);
    return event.type === 'Warning' || previous !== current;
  }

  /** Runs `work`; false, with the error reported through `onError`, when it threw. */
  private async attempt(
    context: { policy: string; runId: string },
    action: string,
    work: () => Promise<void>,
  ): Promise<boolean> {
    try {
      await work();
      return true;
    } catch (error) {
      this.deps.onError(error, { ...context, action });
      return false;
    }
  }
}

/** The Event that tells a run's result on its policy. */
export function runEvent(run: RunRecord): PolicyEvent {
  const { total, succeeded, failed, skipped } = run.counts;
  const counts = `${succeeded} of ${total} volume(s) succeeded, ${failed} failed, ${skipped} skipped`;
  switch (run.state) {
    case 'succeeded':
      return { type: 'Normal', reason: 'RunSucceeded', message: `run ${run.id}: ${counts}` };
    case 'missed':
      return {
        type: 'Warning',
        reason: 'RunMissed',
        message: run.message ?? `run ${run.id} missed`,
      };
    case 'skipped':
      return { type: 'Normal', reason: 'RunSkipped', message: `run ${run.id}: ${counts}` };
    case 'failed':
    case 'partial':
    case 'running': {
      const first = run.volumes.find((v) => v.state === 'failed');
      const why = first ? `; ${first.volume}: ${first.error ?? first.reason ?? 'failed'}` : '';
      return {
        type: 'Warning',
        reason: 'RunFailed',
        message: `run ${run.id} ${run.state}: ${counts}${why}`,
      };
    }
  }
}
