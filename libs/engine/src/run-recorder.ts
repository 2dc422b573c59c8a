import type { RunRecord, VolumeResultEffects, VolumeRunResult } from '#lib/audit';
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
 * Appends `run.finished` with the run's counts, then tells the run observer, if any: for a run
 * that ended at its start, whose caller marks it announced after this (see `TickService`).
 * A run closed by a volume's result is announced by {@link recordVolumeResult}, in the step
 * that closes it; both write the same event.
 */
export async function announceRunEnd(
  deps: Pick<EngineDeps, 'audit' | 'runObserver'>,
  ref: RunRef,
  run: RunRecord,
): Promise<void> {
  const { succeeded, failed, skipped } = run.counts;
  await deps.audit.append({
    type: 'run.finished',
    outcome: run.state === 'succeeded' ? 'succeeded' : 'failed',
    trigger: ref.trigger,
    policy: ref.policyKey,
    namespace: ref.namespace,
    runId: ref.runId,
    durationMs: run.durationMs,
    message: `${run.state}: ${succeeded} succeeded, ${failed} failed, ${skipped} skipped`,
  });
  await notifyRunEnd(deps.runObserver, run, ref.policyKey);
}
