import type { RunRecord, VolumeRunResult } from '#lib/audit';
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

/** The admission text stored with a run. */
export function encodeAdmission(admission: TickAdmission): string {
  return JSON.stringify(admission);
}

/** Reads an admission back; a run stored without one (a missed run) admitted nothing. */
export function decodeAdmission(text: string | undefined): TickAdmission {
  if (text === undefined) return { jobs: [] };
  const value = JSON.parse(text) as Partial<TickAdmission>;
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
