import { volumeQueryOf, type StoredPolicy } from '#lib/engine';
import { nextRuns } from '#lib/policy';
import type { SnapshotDriver, Volume } from '#lib/storage';

/** Seconds between the next two runs of each active (not suspended) policy, by key. */
export function policyIntervals(policies: StoredPolicy[], now: Date): Map<string, number> {
  const result = new Map<string, number>();
  for (const stored of policies) {
    const spec = stored.policy.spec;
    if (spec.suspend) continue;
    const [a, b] = nextRuns(spec.schedule, spec.timeZone, now, 2);
    if (a && b) result.set(stored.key, (b.getTime() - a.getTime()) / 1000);
  }
  return result;
}

/** Which volumes each policy selects, and which policies select each volume. */
export interface PolicySelections {
  /** Per policy key: the volumes its label selector matches or its `claimNames` name, any phase. */
  found: Map<string, Volume[]>;
  /** Per volume (`namespace/name`): the policies selecting it, suspended or not, in policy order. */
  byVolume: Map<string, StoredPolicy[]>;
}

/**
 * {@link PolicySelections} through the driver's volume index (`findVolumes`, as a tick selects):
 * the cost follows what the policies select, where matching every policy against every volume
 * cost policies × volumes (a fleet of 1,000 policies over 10,000 volumes: seconds per scrape).
 */
export async function policySelections(
  driver: Pick<SnapshotDriver, 'findVolumes'>,
  policies: readonly StoredPolicy[],
): Promise<PolicySelections> {
  const found = new Map<string, Volume[]>();
  const byVolume = new Map<string, StoredPolicy[]>();
  const lists = await Promise.all(
    policies.map(({ policy }) =>
      driver.findVolumes(volumeQueryOf(policy.metadata.namespace ?? 'default', policy.spec)),
    ),
  );
  policies.forEach((stored, i) => {
    const volumes = lists[i] ?? [];
    found.set(stored.key, volumes);
    for (const volume of volumes) {
      const key = volumeKey(volume);
      const selecting = byVolume.get(key);
      if (selecting) selecting.push(stored);
      else byVolume.set(key, [stored]);
    }
  });
  return { found, byVolume };
}

/** The key of a volume in {@link PolicySelections.byVolume}. */
export function volumeKey(volume: Pick<Volume, 'namespace' | 'name'>): string {
  return `${volume.namespace}/${volume.name}`;
}

/** The shortest interval among `selecting` policies that are active, or undefined when none is. */
export function shortestInterval(
  selecting: readonly StoredPolicy[],
  intervals: Map<string, number>,
): number | undefined {
  const values = selecting.map((s) => intervals.get(s.key)).filter((v) => v !== undefined);
  return values.length > 0 ? Math.min(...values) : undefined;
}
