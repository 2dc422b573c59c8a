import type { RunRecord, VolumeRunResult } from '#lib/audit';
import type { SnapshotJobData } from '#lib/queues';
import type { SnapshotJobRequest } from './tick.service.js';

/** Why a claim a policy names by `claimNames` fails its volume when it does not exist. */
export const CLAIM_NOT_FOUND = 'claim not found';

/**
 * What the first pass of a tick decided, stored with its run: the snapshot jobs it admitted.
 * Every volume of the run that is not admitted here was decided (skipped or failed) at start.
 */
export interface TickAdmission {
  jobs: SnapshotJobRequest[];
}

/** What every job of one tick shares: stored once in the compact layout. */
type SharedJobFields = Omit<SnapshotJobData, 'volume' | 'snapshotName' | 'startedAt'> & {
  delayMs: number;
};

/** One job of the compact layout: id, volume namespace, name and uid, snapshot name. */
type CompactJob = [string, string, string, string, string];

/** The compact layout: the shared fields once, five strings per job (a tick may hold thousands). */
interface CompactAdmission {
  shared: SharedJobFields;
  compact: CompactJob[];
}

function sharedOf(job: SnapshotJobRequest): SharedJobFields {
  const { runId, policyKey, scheduledAt, trigger, concurrencyPolicy } = job.data;
  return { runId, policyKey, scheduledAt, trigger, concurrencyPolicy, delayMs: job.delayMs };
}

function sameShared(a: SharedJobFields, b: SharedJobFields): boolean {
  return (
    a.runId === b.runId &&
    a.policyKey === b.policyKey &&
    a.scheduledAt === b.scheduledAt &&
    a.trigger === b.trigger &&
    a.concurrencyPolicy === b.concurrencyPolicy &&
    a.delayMs === b.delayMs
  );
}

/**
 * The admission text stored with a run: the fields every job of the tick shares once, then
 * five strings per job; a run's hash holds it as long as the run is kept. Jobs that do not all
 * share those fields (none do today) are stored whole.
 */
export function encodeAdmission(admission: TickAdmission): string {
  const first = admission.jobs[0];
  if (!first) return JSON.stringify({ jobs: [] });
  const shared = sharedOf(first);
  if (
    admission.jobs.some(
      (job) => job.data.startedAt !== undefined || !sameShared(sharedOf(job), shared),
    )
  ) {
    return JSON.stringify(admission);
  }
  const compact = admission.jobs.map(({ id, data }): CompactJob => {
    const { namespace, name, uid } = data.volume;
    return [id, namespace, name, uid, data.snapshotName];
  });
  return JSON.stringify({ shared, compact } satisfies CompactAdmission);
}

/** Reads an admission back (either layout); a run stored without one admitted nothing. */
export function decodeAdmission(text: string | undefined): TickAdmission {
  if (text === undefined) return { jobs: [] };
  const value = JSON.parse(text) as Partial<TickAdmission & CompactAdmission>;
  if (value.shared && Array.isArray(value.compact)) {
    const { delayMs, ...data } = value.shared;
    const jobs = value.compact.map(([id, namespace, name, uid, snapshotName]) => ({
      id,
      delayMs,
      data: { ...data, volume: { namespace, name, uid }, snapshotName },
    }));
    return { jobs };
  }
  return { jobs: Array.isArray(value.jobs) ? value.jobs : [] };
}

/** The run's start message: how many volumes were admitted and why the others were not. */
export function admissionMessage(run: RunRecord, admitted: number): string {
  const skipped = run.volumes.filter((v) => v.state === 'skipped').length;
  const failed = run.volumes.filter((v) => v.state === 'failed').length;
  const parts = [`${admitted} volume(s) selected`, `${skipped} skipped`];
  if (failed > 0) parts.push(`${failed} failed`);
  return parts.join(', ');
}

/** The volumes decided at start (not admitted), in the run's order. */
export function decidedAtStart(run: RunRecord, admitted: SnapshotJobRequest[]): VolumeRunResult[] {
  const names = new Set(admitted.map((job) => job.data.volume.name));
  return run.volumes.filter((v) => !names.has(v.volume) && v.state !== 'pending');
}
