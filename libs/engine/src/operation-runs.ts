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

/** What became of one snapshot a cleanup pass meant to delete. */
export type CleanupOutcome =
  | { deleted: true }
  | { error: string }
  /** The volume was busy with another operation: the next pass tries again. */
  | { deferred: true };

/**
 * Runs a cleanup pass's deletions as runs (kind `cleanup`), one per namespace, each volume
 * failed when one of its deletions failed, and skipped when all of its deletions were deferred
 * to the next pass. `remove` deletes one snapshot (appending its event with the run id) and
 * says what became of it.
 */
export async function runCleanup(
  deps: RunDeps,
  targets: readonly CleanupTarget[],
  trigger: string,
  now: Date,
  remove: (target: CleanupTarget, runId: string) => Promise<CleanupOutcome>,
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
    const outcomes = new Map<string, VolumeCleanup>();
    for (const target of group) {
      const volume = target.snapshot.volumeName;
      const entry = outcomes.get(volume) ?? { done: [], errors: [], deferred: [] };
      tally(entry, target, await remove(target, runId));
      outcomes.set(volume, entry);
    }
    const ref = { runId, namespace, trigger: `cleanup:${trigger}` };
    for (const [volume, entry] of outcomes) {
      await recordVolumeResult(deps, ref, volumeCleanupResult(volume, entry));
    }
  }
}

/** What a cleanup pass did to one volume's snapshots. */
interface VolumeCleanup {
  done: string[];
  errors: string[];
  deferred: string[];
}

function tally(entry: VolumeCleanup, target: CleanupTarget, outcome: CleanupOutcome): void {
  const name = target.snapshot.name;
  if ('error' in outcome) entry.errors.push(`${name}: ${outcome.error}`);
  else if ('deferred' in outcome) entry.deferred.push(name);
  else entry.done.push(`${name} (${target.reason})`);
}

/** Failed when a deletion failed; skipped when every deletion was deferred to the next pass. */
function volumeCleanupResult(volume: string, { done, errors, deferred }: VolumeCleanup) {
  const reasons = [
    ...(done.length > 0 ? [`deleted ${done.join(', ')}`] : []),
    ...(deferred.length > 0
      ? [`deferred to the next pass (volume busy): ${deferred.join(', ')}`]
      : []),
  ];
  const result: VolumeRunResult = {
    volume,
    state: errors.length > 0 ? 'failed' : done.length > 0 ? 'succeeded' : 'skipped',
    ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
    ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
  };
  return result;
}
