import { matchesSelector, type BackupPolicySpec } from '#lib/policy';
import type { SnapshotDriver, Volume, VolumeQuery } from '#lib/storage';

/** A volume a policy names but cannot snapshot now, with the reason. */
export interface SkippedVolume {
  name: string;
  reason: string;
  /** Named in `claimNames` but does not exist (a scheduled run fails it). */
  missing?: true;
}

/**
 * The volumes of one namespace a policy selects: those matching its selector plus those it
 * names. Named volumes that are missing or not bound are reported, never fatal to the others.
 */
export function selectVolumes(
  volumes: readonly Volume[],
  spec: Pick<BackupPolicySpec, 'selector' | 'claimNames'>,
): { selected: Volume[]; skipped: SkippedVolume[] } {
  const byName = new Map(volumes.map((v) => [v.name, v]));
  const chosen = new Map<string, Volume>();
  const skipped: SkippedVolume[] = [];
  if (spec.selector) {
    for (const volume of volumes) {
      if (matchesSelector(volume.labels, spec.selector)) chosen.set(volume.name, volume);
    }
  }
  for (const name of spec.claimNames ?? []) {
    const volume = byName.get(name);
    if (volume) chosen.set(name, volume);
    else skipped.push({ name, reason: 'volume not found', missing: true });
  }
  const selected: Volume[] = [];
  for (const volume of [...chosen.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (volume.phase === 'Bound') selected.push(volume);
    else skipped.push({ name: volume.name, reason: `volume is ${volume.phase}, not Bound` });
  }
  return { selected, skipped };
}

/**
 * `selectVolumes` over what the driver's volume index finds for the policy (its selector's
 * matches and the claims it names), instead of every volume of the namespace: a tick costs in
 * proportion to the volumes it selects. Same result as `selectVolumes` over the whole listing.
 */
export async function findSelectedVolumes(
  driver: Pick<SnapshotDriver, 'findVolumes'>,
  namespace: string,
  spec: Pick<BackupPolicySpec, 'selector' | 'claimNames'>,
): Promise<{ selected: Volume[]; skipped: SkippedVolume[] }> {
  const found = await driver.findVolumes(volumeQueryOf(namespace, spec));
  return selectVolumes(found, spec);
}

/** What a policy in `namespace` asks the driver's volume index (`findVolumes`) for. */
export function volumeQueryOf(
  namespace: string,
  spec: Pick<BackupPolicySpec, 'selector' | 'claimNames'>,
): VolumeQuery {
  return {
    namespace,
    ...(spec.selector ? { selector: spec.selector } : {}),
    ...(spec.claimNames ? { names: spec.claimNames } : {}),
  };
}
