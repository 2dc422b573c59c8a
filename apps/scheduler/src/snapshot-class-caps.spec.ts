import type { VolumeSnapshotClass } from '#lib/kube';
import { SnapshotClassCaps } from './snapshot-class-caps.js';

function classes(...found: VolumeSnapshotClass[]) {
  let gets = 0;
  const kube = {
    getVolumeSnapshotClass: (name: string) => {
      gets += 1;
      return Promise.resolve(found.find((c) => c.metadata.name === name));
    },
  };
  return { kube, gets: () => gets };
}

const cls = (name: string, driver: string, cap?: string): VolumeSnapshotClass => ({
  metadata: {
    name,
    annotations: cap ? { 'snapwarden.io/max-snapshots-per-volume': cap } : undefined,
  },
  driver,
  deletionPolicy: 'Delete',
});

describe('SnapshotClassCaps', () => {
  it.each([
    ['the annotation', cls('a', 'disk.csi.everest.io', '5'), 5],
    ['the everest default of 7', cls('a', 'disk.csi.everest.io'), 7],
    ['no cap for other drivers', cls('a', 'hostpath.csi.k8s.io'), undefined],
    ['the driver rule over a bad annotation', cls('a', 'disk.csi.everest.io', 'seven'), 7],
  ])('takes %s', async (_what, found, cap) => {
    expect(await new SnapshotClassCaps(classes(found).kube).capOf('a')).toBe(cap);
  });

  it('knows no cap without a class or for a missing one', async () => {
    const caps = new SnapshotClassCaps(classes().kube);
    expect(await caps.capOf(undefined)).toBeUndefined();
    expect(await caps.capOf('missing')).toBeUndefined();
  });

  it('asks the API server once per class while its answer is fresh', async () => {
    const api = classes(cls('a', 'disk.csi.everest.io'));
    const caps = new SnapshotClassCaps(api.kube, 60_000);
    await caps.capOf('a');
    await caps.capOf('a');
    expect(api.gets()).toBe(1);
  });
});
