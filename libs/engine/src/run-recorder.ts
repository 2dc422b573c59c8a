import type { AuditEventInput, RunRecord, VolumeResultEffects, VolumeRunResult } from '#lib/audit';
import type { EngineDeps } from './engine-deps.js';
import { notifyRunEnd } from './run-observer.js';

/** Which run a volume result belongs to, and who triggered it, for the closing event. */
export interface RunRef {
  runId: string;
  policyKey?: string;
  namespace: string;
  trigger: string;
}

/**
 * Lands one volume's result in its run and, for the one call that closes the run (exactly
 * once across every replica, decided atomically by the run store), appends `run.finished` in
 * the same atomic step, so that no crash can leave a closed run unannounced; then tells the
 * run observer. `effects` (events still to write, leases to release) go in that step too.
 */
export async function recordVolumeResult(
  deps: Pick<EngineDeps, 'runs' | 'audit' | 'runObserver'>,
  ref: RunRef,
  result: VolumeRunResult,
  effects: VolumeResultEffects = {},
): Promise<void> {
  const end = deps.audit.runEnd({
    runId: ref.runId,
    trigger: ref.trigger,
    namespace: ref.namespace,
    policy: ref.policyKey,
  });
  const { record, outcome } = await deps.runs.applyVolumeResult(ref.runId, result, undefined, {
    ...effects,
    end,
  });
  if (outcome === 'finished' && record) await notifyRunEnd(deps.runObserver, record, ref.policyKey);
}

/**
 * `run.finished` of `run` with its counts: what the closing step of {@link recordVolumeResult}
 * builds in its script, for a run that ended at its start (see `TickService`), whose start
 * events, end and announced mark are written in one step.
 */
export function runEndEvent(ref: RunRef, run: RunRecord): AuditEventInput {
  const { succeeded, failed, skipped } = run.counts;
  return {
    type: 'run.finished',
    outcome: run.state === 'succeeded' ? 'succeeded' : 'failed',
    trigger: ref.trigger,
    policy: ref.policyKey,
    namespace: ref.namespace,
    runId: ref.runId,
    durationMs: run.durationMs,
    message: `${run.state}: ${succeeded} succeeded, ${failed} failed, ${skipped} skipped`,
  };
}
