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
 * once across every replica, decided atomically by the run store), appends `run.finished`.
 * `effects` (events still to write, leases to release) go in the same atomic step as the result.
 */
export async function recordVolumeResult(
  deps: Pick<EngineDeps, 'runs' | 'audit' | 'runObserver'>,
  ref: RunRef,
  result: VolumeRunResult,
  effects?: VolumeResultEffects,
): Promise<void> {
  const { record, outcome } = await deps.runs.applyVolumeResult(
    ref.runId,
    result,
    undefined,
    effects,
  );
  if (outcome === 'finished' && record) await announceRunEnd(deps, ref, record);
}

/** Appends `run.finished` with the run's counts, then tells the run observer, if any. */
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
