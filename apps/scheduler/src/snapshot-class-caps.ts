import type { KubeClient, VolumeSnapshotClass } from '#lib/kube';
import { KNOWN_DRIVERS, MAX_SNAPSHOTS_ANNOTATION } from '#lib/storage';

/**
 * Per-volume caps of VolumeSnapshotClasses, for validating a policy's retention against its
 * class when it is applied, by the csi driver's rule (the class annotation
 * `snapwarden.io/max-snapshots-per-volume`, else the driver's known cap). Cached per class for
 * `ttlMs`, so a reconcile pass costs at most one GET per class a minute.
 */
export class SnapshotClassCaps {
  private readonly cache = new Map<string, { at: number; cap: number | undefined }>();

  constructor(
    private readonly kube: Pick<KubeClient, 'getVolumeSnapshotClass'>,
    private readonly ttlMs = 60_000,
  ) {}

  /** The cap of the named class; `undefined` when unknown (no class, none found, no rule). */
  async capOf(className: string | undefined): Promise<number | undefined> {
    if (className === undefined) return undefined;
    const cached = this.cache.get(className);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.cap;
    const found = await this.kube.getVolumeSnapshotClass(className).catch(() => undefined);
    const cap = found ? capOfClass(found) : undefined;
    this.cache.set(className, { at: Date.now(), cap });
    return cap;
  }
}

/** The csi driver's rule: a positive-integer annotation, else the driver's known cap. */
function capOfClass(vsClass: VolumeSnapshotClass): number | undefined {
  const annotated = Number(vsClass.metadata.annotations?.[MAX_SNAPSHOTS_ANNOTATION]);
  if (Number.isInteger(annotated) && annotated > 0) return annotated;
  return KNOWN_DRIVERS[vsClass.driver]?.maxSnapshotsPerVolume;
}
