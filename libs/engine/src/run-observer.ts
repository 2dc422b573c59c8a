import type { RunRecord } from '#lib/audit';

/**
 * Told about the end of every run of a policy (finished or missed), exactly once across every
 * replica, right after `run.finished` / `run.missed` is appended to the audit log. Kubernetes
 * mode writes the policy's status and an Event from it; local mode has none.
 *
 * Implementations must not throw: a failed status write is theirs to log, and never turns a
 * volume's result into a failure.
 */
export interface RunObserver {
  runFinished(run: RunRecord, policyKey: string): Promise<void>;
  /** Told about the end of every run, of a policy or not (on-demand, restore, cleanup). */
  runEnded?(run: RunRecord): Promise<void>;
}

/** Calls the observer, if any, and keeps whatever it throws away from the run's own outcome. */
export async function notifyRunEnd(
  observer: RunObserver | undefined,
  run: RunRecord,
  policyKey: string | undefined,
): Promise<void> {
  if (!observer) return;
  try {
    await observer.runEnded?.(run);
    if (policyKey !== undefined) await observer.runFinished(run, policyKey);
  } catch {
    // Don't mask the run's own result; the observer logs its failures itself.
  }
}
