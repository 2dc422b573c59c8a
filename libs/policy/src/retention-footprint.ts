import { KEEP_RULES, type Retention } from './policy.schema.js';

/** How many snapshots of one volume a retention can hold at once. */
export interface RetentionFootprint {
  /** Most snapshots the keep rules retain: the sum of the keep* counts (their union is smaller or equal). */
  retained: number;
  /**
   * Most snapshots the policy holds on a volume while a run takes a new one: `retained`, plus 1
   * unless `keepLast ≥ 2`. The newest ready snapshot is never pruned before the new snapshot is
   * ready, but when the new one supersedes it in every rule (keepLast 1, or a second run in the
   * same hour/day/… bucket) the keep rules no longer count it, so it needs a slot of its own.
   */
  peak: number;
}

/** The footprint of a retention; `parseBackupPolicy` requires `peak ≤ cap − reservedSlots`. */
export function retentionFootprint(retention: Retention): RetentionFootprint {
  const retained = KEEP_RULES.reduce((sum, rule) => sum + (retention[rule] ?? 0), 0);
  const peak = retained + ((retention.keepLast ?? 0) >= 2 ? 0 : 1);
  return { retained, peak };
}
