import type { DesiredPolicies, ReconcileResult } from './policy-reconciler.js';

/**
 * Where the scheduler reads policies from: the policy folder in local mode, BackupPolicy
 * custom resources in kubernetes mode. Both feed the same `PolicyReconciler`.
 */
export interface PolicySource {
  /**
   * What the source says now; never throws for one bad policy (that becomes a problem).
   * `progress`, when the source can tell, reports how many of its items were read so far.
   */
  load(progress?: (read: number, total: number) => void): Promise<DesiredPolicies>;
  /** Calls `onChange` (debounced by the source) whenever a policy may have changed. */
  watch(onChange: () => void): void | Promise<void>;
  /**
   * Called after each reconcile pass with what was loaded and what was applied, e.g. to write
   * status back to the source. Must not throw: failures are the source's to log.
   */
  reconciled?(desired: DesiredPolicies, result: ReconcileResult, now: Date): Promise<void>;
  /** Why the source is not ready (e.g. a stale watch), or `undefined` when it is. */
  notReadyReason?(): string | undefined;
  close(): Promise<void>;
}
