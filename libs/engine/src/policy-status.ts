import type { RunRecord } from '#lib/audit';
import { jitterMs, nextRuns, type BackupPolicy, type FieldError } from '#lib/policy';
import type { Volume } from '#lib/storage';
import { selectVolumes } from './volume-selection.js';

/** One condition of a BackupPolicy's status, in the Kubernetes `metav1.Condition` shape. */
export interface PolicyCondition {
  type: 'Ready' | 'Scheduled' | 'VolumesSelected';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** `status.lastRun` of a BackupPolicy. */
export interface PolicyLastRun {
  id: string;
  result: string;
  volumes: { total: number; succeeded: number; failed: number; skipped: number };
}

/** The `status` of a BackupPolicy custom resource (PRODUCT.md); every field optional in a patch. */
export interface PolicyStatus {
  observedGeneration?: number;
  conditions?: PolicyCondition[];
  nextRunTime?: string | null;
  lastRunTime?: string;
  lastSuccessTime?: string;
  lastRun?: PolicyLastRun;
  missedRuns?: number;
}

/**
 * The next time the policy's job will fire (its cron in its time zone plus its stable jitter),
 * or `undefined` when it is suspended or never fires again.
 */
export function nextRunTime(policy: BackupPolicy, key: string, now: Date): Date | undefined {
  if (policy.spec.suspend) return undefined;
  const [next] = nextRuns(policy.spec.schedule, policy.spec.timeZone, now, 1);
  if (!next) return undefined;
  return new Date(next.getTime() + jitterMs(key, policy.spec.jitterSeconds));
}

/**
 * Status of a valid policy as applied: `Ready=True`, `Scheduled` True with the next run (False
 * when suspended), `nextRunTime`. Conditions keep their `lastTransitionTime` while their status
 * does not change (`previous` is the status the object carries now).
 */
export function appliedPolicyStatus(
  policy: BackupPolicy,
  key: string,
  now: Date,
  previous?: PolicyStatus,
  volumes?: readonly Volume[],
): PolicyStatus {
  const generation = policy.metadata.generation;
  const next = nextRunTime(policy, key, now);
  const ready = condition('Ready', 'True', 'Valid', 'spec is valid and applied', generation);
  const scheduled = policy.spec.suspend
    ? condition('Scheduled', 'False', 'Suspended', 'spec.suspend is true', generation)
    : next
      ? condition('Scheduled', 'True', 'Scheduled', scheduledMessage(policy), generation)
      : condition('Scheduled', 'False', 'NoNextRun', 'the schedule never fires again', generation);
  const conditions = [ready, scheduled];
  if (volumes) conditions.push(selectionCondition(policy, volumes));
  return {
    observedGeneration: generation,
    conditions: keepTransitions(conditions, previous, now),
    nextRunTime: next?.toISOString() ?? null,
  };
}

/**
 * `VolumesSelected`: True with how many volumes the policy selects now; False (a warning,
 * reason `NoVolumesSelected`) when its selector and claim names match none, and also
 * naming claims that do not exist (`ClaimsNotFound`), which fail every run.
 */
export function selectionCondition(
  policy: BackupPolicy,
  volumes: readonly Volume[],
): PolicyCondition {
  const namespace = policy.metadata.namespace ?? 'default';
  const own = volumes.filter((v) => v.namespace === namespace);
  const { selected, skipped } = selectVolumes(own, policy.spec);
  const missing = skipped.filter((s) => s.missing).map((s) => s.name);
  const generation = policy.metadata.generation;
  if (selected.length === 0 && missing.length === 0) {
    const message = `no volume in namespace ${namespace} matches the selector or claimNames`;
    return condition('VolumesSelected', 'False', 'NoVolumesSelected', message, generation);
  }
  if (missing.length > 0) {
    const message = `claimNames not found in namespace ${namespace}: ${missing.join(', ')}; ${selected.length} volume(s) selected`;
    return condition('VolumesSelected', 'False', 'ClaimsNotFound', message, generation);
  }
  const message = `${selected.length} volume(s) selected`;
  return condition('VolumesSelected', 'True', 'VolumesSelected', message, generation);
}

function scheduledMessage(policy: BackupPolicy): string {
  return `runs on "${policy.spec.schedule}" in ${policy.spec.timeZone}; see nextRunTime`;
}

/**
 * Status of a policy whose spec failed validation: `Ready=False`, reason `InvalidSpec`, the
 * message naming each field. `Scheduled` is left as it was: the last valid version keeps running.
 */
export function invalidPolicyStatus(
  errors: readonly FieldError[],
  generation: number | undefined,
  now: Date,
  previous?: PolicyStatus,
): PolicyStatus {
  const ready = condition('Ready', 'False', 'InvalidSpec', invalidSpecMessage(errors), generation);
  const others = (previous?.conditions ?? []).filter((c) => c.type !== 'Ready');
  return {
    observedGeneration: generation,
    conditions: keepTransitions([ready, ...others], previous, now),
  };
}

/** `spec.retention.keepLast: must be …; spec.schedule: …` — every field named. */
export function invalidSpecMessage(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

/**
 * What a finished (or missed) run adds to the status: `lastRunTime` (the run's nominal time),
 * `lastSuccessTime` when every volume succeeded, `lastRun` with the volume counts, and the
 * next run.
 */
export function runEndStatus(run: RunRecord, next: Date | undefined): PolicyStatus {
  const { total, succeeded, failed, skipped } = run.counts;
  const status: PolicyStatus = {
    lastRunTime: run.scheduledAt,
    lastRun: {
      id: run.id,
      result: RESULTS[run.state],
      volumes: { total, succeeded, failed, skipped },
    },
    nextRunTime: next?.toISOString() ?? null,
  };
  if (run.state === 'succeeded') status.lastSuccessTime = run.scheduledAt;
  return status;
}

/** `status.lastRun.result` as the CRD documents it. */
const RESULTS: Record<RunRecord['state'], string> = {
  running: 'Running',
  succeeded: 'Succeeded',
  partial: 'PartiallyFailed',
  failed: 'Failed',
  missed: 'Missed',
  skipped: 'Skipped',
};

/** True when writing `wanted` would change what `current` says (transition times aside). */
export function statusDiffers(current: PolicyStatus | undefined, wanted: PolicyStatus): boolean {
  return JSON.stringify(comparable(current ?? {}, wanted)) !== JSON.stringify(comparable(wanted));
}

function comparable(status: PolicyStatus, shape: PolicyStatus = status): unknown {
  const keys = Object.keys(shape).sort() as (keyof PolicyStatus)[];
  return keys.map((key) => {
    const value = status[key];
    if (key !== 'conditions' || !Array.isArray(value)) return [key, value ?? null];
    const conditions = value.map(({ lastTransitionTime: _t, ...c }) => c);
    return [key, conditions.sort((a, b) => a.type.localeCompare(b.type))];
  });
}

function condition(
  type: PolicyCondition['type'],
  status: PolicyCondition['status'],
  reason: string,
  message: string,
  generation: number | undefined,
): PolicyCondition {
  return { type, status, reason, message, lastTransitionTime: '', observedGeneration: generation };
}

function keepTransitions(
  conditions: PolicyCondition[],
  previous: PolicyStatus | undefined,
  now: Date,
): PolicyCondition[] {
  return conditions.map((c) => {
    const before = previous?.conditions?.find((p) => p.type === c.type);
    const since =
      before && before.status === c.status && before.lastTransitionTime
        ? before.lastTransitionTime
        : c.lastTransitionTime || now.toISOString();
    return { ...c, lastTransitionTime: since };
  });
}
