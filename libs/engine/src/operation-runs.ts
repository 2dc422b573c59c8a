import type { RunRecord, VolumeRunResult } from '#lib/audit';
import type { RestoreRequestSpec } from '#lib/policy';
import type { Snapshot } from '#lib/storage';
import type { EngineDeps } from './engine-deps.js';
import type { RestoreRecord } from './request-store.js';
import { recordVolumeResult } from './run-recorder.js';

type RunDeps = Pick<EngineDeps, 'runs' | 'audit' | 'runObserver'>;

/** The id of a restore's run: its key and creation time, the same in every replica. */
export function restoreRunId(record: { namespace: string; name: string; createdAt: string }) {
  return `restore:${record.namespace}/${record.name}:${Date.parse(record.createdAt)}`;
}

/** The volume a restore writes: the new claim, or the volume rolled back. */
function restoreVolume(spec: RestoreRequestSpec, sourceVolume: string | undefined): string {
  if (spec.mode === 'NewVolume' && spec.target) return spec.target.claimName;
  return sourceVolume ?? spec.snapshotName;
}

/** Records a restore as a run (kind `restore`); idempotent, so every attempt may call it. */
export async function startRestoreRun(
  deps: RunDeps,
  record: RestoreRecord,
  sourceVolume?: string,
): Promise<RunRecord> {
  const { record: run } = await deps.runs.start({
    id: restoreRunId(record),
    kind: 'restore',
    namespace: record.namespace,
    trigger: record.trigger,
    scheduledAt: new Date(record.createdAt),
    volumes: [restoreVolume(record.spec, sourceVolume)],
    message: `${record.spec.mode} from ${record.spec.snapshotName}`,
  });
  return run;
}

/** Lands a restore's result in its run (started here when no attempt got that far). */
export async function finishRestoreRun(
  deps: RunDeps,
  record: RestoreRecord,
  phase: 'Succeeded' | 'Failed',
  message: string,
): Promise<void> {
  const run = await startRestoreRun(deps, record);
  const volume = run.volumes[0]?.volume ?? restoreVolume(record.spec, undefined);
  const result: VolumeRunResult = {
    volume,
    state: phase === 'Succeeded' ? 'succeeded' : 'failed',
    snapshot: record.spec.snapshotName,
    ...(phase === 'Failed' ? { error: message } : { reason: message }),
  };
  const ref = { runId: run.id, namespace: record.namespace, trigger: record.trigger };
  await recordVolumeResult(deps, ref, result);
}

/** A snapshot a cleanup pass deletes, and why. */
export interface CleanupTarget {
  snapshot: Snapshot;
  reason: string;
}

/**
 * Runs a cleanup pass's deletions as runs (kind `cleanup`), one per namespace, each volume
 * failed when one of its deletions failed. `remove` deletes one snapshot (appending its
 * event with the run id) and says whether it succeeded or why not.
 */
export async function runCleanup(
  deps: RunDeps,
  targets: readonly CleanupTarget[],
  trigger: string,
  now: Date,
  remove: (target: CleanupTarget, runId: string) => Promise<string | undefined>,
): Promise<void> {
  const byNamespace = new Map<string, CleanupTarget[]>();
  for (const t of targets) {
    byNamespace.set(t.snapshot.namespace, [...(byNamespace.get(t.snapshot.namespace) ?? []), t]);
  }
  for (const [namespace, group] of byNamespace) {
    const runId = `cleanup:${namespace}:${now.getTime()}:${trigger}`;
    const volumes = [...new Set(group.map((t) => t.snapshot.volumeName))];
    await deps.runs.start({
      id: runId,
      kind: 'cleanup',
      namespace,
      trigger: `cleanup:${trigger}`,
      scheduledAt: now,
      volumes,
      message: `${group.length} snapshot(s) due`,
    });
    const outcome = new Map<string, { done: string[]; errors: string[] }>();
    for (const target of group) {
      const error = await remove(target, runId);
      const entry = outcome.get(target.snapshot.volumeName) ?? { done: [], errors: [] };
      if (error === undefined) entry.done.push(`${target.snapshot.name} (${target.reason})`);
      else entry.errors.push(`${target.snapshot.name}: ${error}`);
      outcome.set(target.snapshot.volumeName, entry);
    }
    const ref = { runId, namespace, trigger: `cleanup:${trigger}` };
    for (const [volume, { done, errors }] of outcome) {
      const result: VolumeRunResult = {
        volume,
        state: errors.length > 0 ? 'failed' : 'succeeded',
        ...(done.length > 0 ? { reason: `deleted ${done.join(', ')}` } : {}),
        ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
      };
      await recordVolumeResult(deps, ref, result);
    }
  }
}
