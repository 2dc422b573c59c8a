import type { StoredPolicy } from '#lib/engine';
import { matchesSelector, nextRuns } from '#lib/policy';
import type { Volume } from '#lib/storage';

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

/**
 * The shortest interval of the active policies selecting `volume` (same namespace; by
 * `claimNames` or label selector), or undefined when none does.
 */
export function volumeInterval(
  volume: Volume,
  policies: StoredPolicy[],
  intervals: Map<string, number>,
): number | undefined {
  const selecting = selectingPolicies(volume, policies);
  const values = selecting.map((s) => intervals.get(s.key)).filter((v) => v !== undefined);
  return values.length > 0 ? Math.min(...values) : undefined;
}

/** The policies selecting `volume` (same namespace; by `claimNames` or label selector), suspended or not. */
export function selectingPolicies(volume: Volume, policies: StoredPolicy[]): StoredPolicy[] {
  return policies.filter((stored) => {
    const spec = stored.policy.spec;
    if (!stored.key.startsWith(`${volume.namespace}/`)) return false;
    if (spec.claimNames?.includes(volume.name)) return true;
    return spec.selector !== undefined && matchesSelector(volume.labels, spec.selector);
  });
}
