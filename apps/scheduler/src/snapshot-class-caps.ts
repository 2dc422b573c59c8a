import type { KubeClient } from '#lib/kube';

/** The annotation that sets a VolumeSnapshotClass's per-volume snapshot cap. */
export const MAX_SNAPSHOTS_ANNOTATION = 'snapwarden.io/max-snapshots-per-volume';

/** Caps of CSI drivers whose providers document one (Huawei EVS: 7 snapshots per disk). */
export const KNOWN_DRIVER_CAPS: Readonly<Record<string, number>> = {
  'disk.csi.everest.io': 7,
};

/**
 * Per-volume caps of VolumeSnapshotClasses, for validating a policy's retention against its
 * class when it is applied: the class annotation, else the driver's known cap, else none.
 * Cached per class for `ttlMs`, so a reconcile pass costs at most one GET per class a minute.
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
    const annotated = Number(found?.metadata.annotations?.[MAX_SNAPSHOTS_ANNOTATION]);
    const cap =
      Number.isInteger(annotated) && annotated > 0
        ? annotated
        : found
          ? KNOWN_DRIVER_CAPS[found.driver]
          : undefined;
    this.cache.set(className, { at: Date.now(), cap });
    return cap;
  }
}
