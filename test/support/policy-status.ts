import type { RunRecord, RunStore } from '#lib/audit';
import type { PolicyEvent, PolicyObjectRef, PolicyStatus, PolicyStatusPort } from '#lib/engine';
import { parseBackupPolicy, type BackupPolicy } from '#lib/policy';

/** A valid daily BackupPolicy `shop/<name>` with uid `uid-<name>`. */
export function dailyPolicy(name: string): BackupPolicy {
  const parsed = parseBackupPolicy(
    {
      apiVersion: 'snapwarden.io/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name, namespace: 'shop', uid: `uid-${name}` },
      spec: { schedule: '0 2 * * *', claimNames: ['db'], retention: { keepLast: 3 } },
    },
    { defaultDriver: 'csi', maxSnapshotsPerVolume: () => 7 },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
}

/**
 * What the API server holds of each policy: its status (by `namespace/name`), the Events, and
 * every status write in order. `refuse` makes the next writes fail, as an API server answering
 * 500 does.
 */
export class RecordingStatusPort implements PolicyStatusPort {
  readonly status = new Map<string, PolicyStatus>();
  readonly patched: string[] = [];
  readonly events: { policy: string; event: PolicyEvent }[] = [];
  refuse = { patch: 0, event: 0 };

  patchStatus(ref: PolicyObjectRef, status: PolicyStatus): Promise<void> {
    if (this.refuse.patch > 0) {
      this.refuse.patch--;
      return Promise.reject(new Error('500 Internal Server Error'));
    }
    const key = `${ref.namespace}/${ref.name}`;
    this.status.set(key, status);
    this.patched.push(`${key} ${status.lastRun?.id ?? ''}`);
    return Promise.resolve();
  }

  recordEvent(ref: PolicyObjectRef, event: PolicyEvent): Promise<void> {
    if (this.refuse.event > 0) {
      this.refuse.event--;
      return Promise.reject(new Error('500 Internal Server Error'));
    }
    this.events.push({ policy: `${ref.namespace}/${ref.name}`, event });
    return Promise.resolve();
  }
}

/** Starts a scheduled run of `shop/<name>` at `at` with one volume and closes it in `state`. */
export async function closeOneVolumeRun(
  runs: RunStore,
  name: string,
  at: number,
  state: 'succeeded' | 'failed',
): Promise<RunRecord> {
  const id = `sched_shop/${name}_${at}`;
  await runs.start(
    {
      id,
      kind: 'scheduled',
      policy: `shop/${name}`,
      namespace: 'shop',
      trigger: 'schedule',
      scheduledAt: new Date(at),
      volumes: ['db'],
    },
    new Date(at),
  );
  const result =
    state === 'failed'
      ? { volume: 'db', state, error: 'provider said no' }
      : { volume: 'db', state };
  const update = await runs.applyVolumeResult(id, result, new Date(at + 1000));
  return update.record!;
}
