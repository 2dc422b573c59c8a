import type { Logger } from 'pino';
import type { RunRecord } from '#lib/audit';
import type { RunObserver } from '#lib/engine';

/**
 * Writes a `warn` line for every run that ended badly (failed, partial, missed), one per failed
 * volume with its policy, volume and error, then hands the run on to `inner` (the Kubernetes
 * status observer, when there is one).
 */
export function logRunEnds(logger: Logger, inner?: RunObserver): RunObserver {
  return {
    async runEnded(run: RunRecord) {
      logBadRun(logger, run);
      await inner?.runEnded?.(run);
    },
    async runFinished(run: RunRecord, policyKey: string) {
      await inner?.runFinished(run, policyKey);
    },
  };
}

function logBadRun(logger: Logger, run: RunRecord): void {
  if (run.state === 'succeeded' || run.state === 'skipped' || run.state === 'running') return;
  const base = { runId: run.id, kind: run.kind, policy: run.policy, namespace: run.namespace };
  const failed = run.volumes.filter((v) => v.state === 'failed');
  if (failed.length === 0) {
    logger.warn({ ...base, state: run.state, err: run.message }, `run ${run.state}`);
    return;
  }
  for (const volume of failed) {
    logger.warn(
      { ...base, state: run.state, volume: volume.volume, err: volume.error },
      `run ${run.state}: volume ${volume.volume} failed`,
    );
  }
}
