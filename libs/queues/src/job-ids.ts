/**
 * Deterministic job ids (invariant 3): a tick of one policy for one volume always has the same
 * id, so BullMQ ignores the second add from a retried tick or another replica.
 * BullMQ ids must not contain ':'; policy keys `ns/name` are mapped to `ns.name`.
 */
export function snapshotJobId(policyUid: string, volumeUid: string, scheduledAtMs: number): string {
  return `snap_${clean(policyUid)}_${clean(volumeUid)}_${scheduledAtMs}`;
}

/** The run of one policy tick. */
export function scheduledRunId(policyKey: string, scheduledAtMs: number): string {
  return `sched_${clean(policyKey)}_${scheduledAtMs}`;
}

function clean(part: string): string {
  return part.replace(/[^a-zA-Z0-9.-]/g, '.');
}
