import { createHash } from 'node:crypto';

/**
 * Deterministic job ids (invariant 3): a tick of one policy for one volume always has the same
 * id, so BullMQ ignores the second add from a retried tick or another replica.
 * The id is `snap_` and 132 bits of a SHA-256 of policy uid, volume uid and tick time: unique
 * per (policy, volume, tick) and short, because BullMQ writes it into every key, list entry
 * and event of the job, and the engine into the volume's lock, marker and audit events. The
 * audit events of a job name its policy, volume and run beside it.
 */
export function snapshotJobId(policyUid: string, volumeUid: string, scheduledAtMs: number): string {
  const digest = createHash('sha256')
    .update(`${policyUid}\n${volumeUid}\n${scheduledAtMs}`)
    .digest('base64url');
  return `snap_${digest.slice(0, 22)}`;
}

/**
 * The run of one policy tick.
 * BullMQ ids must not contain ':'; policy keys `ns/name` are mapped to `ns.name`.
 */
export function scheduledRunId(policyKey: string, scheduledAtMs: number): string {
  return `sched_${clean(policyKey)}_${scheduledAtMs}`;
}

function clean(part: string): string {
  return part.replace(/[^a-zA-Z0-9.-]/g, '.');
}
