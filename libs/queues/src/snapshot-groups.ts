import { createHash } from 'node:crypto';
import type { SnapshotGroupJobData, SnapshotJobData } from './payloads.js';

/**
 * How many volumes of a run one snapshot job carries. A job is worth two BullMQ scripts
 * (add, finish) whatever it carries; for a volume those cost about as much CPU as all the
 * engine's own steps together, so ten volumes a job take most of that cost off each volume
 * (`npm run bench`, README "Performance"). A worker runs a group's volumes side by side in its
 * slots for volumes (its concurrency), so a group is no slower than its volumes' own jobs and
 * a worker never has more volumes in flight than before; ten keeps a group's share of one
 * worker small when few groups are queued.
 */
export const SNAPSHOT_GROUP_SIZE = 10;

/** A volume's snapshot job as a tick asks for it (see `TickService`). */
export interface VolumeJob {
  id: string;
  data: SnapshotJobData;
  delayMs: number;
}

/** A snapshot group job to add: deterministic id, members, and their common delay. */
export interface SnapshotGroupJob {
  id: string;
  data: SnapshotGroupJobData;
  delayMs: number;
}

/**
 * The group jobs of one tick's volume jobs: consecutive runs of up to `size` volumes of the
 * same run and delay, in the order given. The order is the run's stored admission, so a
 * retried tick or another replica builds the same groups under the same ids (invariant 3)
 * and BullMQ ignores the second add. The id is `grp_` and 132 bits of a SHA-256 of the run id
 * and the first member's id.
 */
export function snapshotGroups(
  jobs: readonly VolumeJob[],
  size = SNAPSHOT_GROUP_SIZE,
): SnapshotGroupJob[] {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`snapshot group size must be a whole number of at least 1, got ${size}`);
  }
  const groups: SnapshotGroupJob[] = [];
  let current: SnapshotGroupJob | undefined;
  for (const job of jobs) {
    const fits =
      current !== undefined &&
      current.data.members.length < size &&
      current.data.runId === job.data.runId &&
      current.delayMs === job.delayMs;
    if (!fits || !current) {
      current = {
        id: snapshotGroupId(job.data.runId, job.id),
        data: { runId: job.data.runId, members: [] },
        delayMs: job.delayMs,
      };
      groups.push(current);
    }
    current.data.members.push({ id: job.id, data: job.data });
  }
  return groups;
}

/** The id of the group of run `runId` whose first member is the job `firstMemberId`. */
export function snapshotGroupId(runId: string, firstMemberId: string): string {
  const digest = createHash('sha256').update(`${runId}\n${firstMemberId}`).digest('base64url');
  return `grp_${digest.slice(0, 22)}`;
}
