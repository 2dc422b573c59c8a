import type { PersistentVolumeClaim, VolumeSnapshot } from '#lib/kube';
import { snapshotState, toSnapshot, toVolume } from './csi-snapshot-mapper.js';
import { defaultClassFor, knownCapOf, maxSnapshotsFor } from './driver-rules.js';
import { quantityBytes } from './quantity.js';

const vs = (status: VolumeSnapshot['status'], deletionTimestamp?: string): VolumeSnapshot => ({
  metadata: {
    name: 's',
    namespace: 'shop',
    uid: 'u',
    creationTimestamp: '2026-01-01T00:00:00Z',
    deletionTimestamp,
  },
  spec: { source: { persistentVolumeClaimName: 'db' } },
  status,
});

describe('VolumeSnapshot mapping', () => {
  it.each([
    ['Creating', vs(undefined)],
    ['Creating', vs({ readyToUse: false })],
    ['Ready', vs({ readyToUse: true })],
    ['Failed', vs({ readyToUse: false, error: { message: 'quota' } })],
    ['Terminating', vs({ readyToUse: true }, '2026-01-02T00:00:00Z')],
  ])('is %s', (state, snapshot) => {
    expect(snapshotState(snapshot)).toBe(state);
  });

  it('carries the source claim, restore size in bytes, creation time and error text', () => {
    const snapshot = toSnapshot(
      vs({
        readyToUse: false,
        restoreSize: '1Gi',
        creationTime: '2026-01-01T01:00:00Z',
        error: { message: 'boom' },
      }),
    );
    expect(snapshot).toMatchObject({
      volumeName: 'db',
      restoreSizeBytes: 2 ** 30,
      createdAt: new Date('2026-01-01T01:00:00Z'),
      error: 'boom',
      readyToUse: false,
    });
  });

  it('maps a claim: capacity over request, Pending when it has no phase yet', () => {
    const claim: PersistentVolumeClaim = {
      metadata: { name: 'db', namespace: 'shop', uid: 'c' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    };
    expect(toVolume(claim)).toMatchObject({ phase: 'Pending', sizeBytes: 2 ** 30 });
    expect(
      toVolume({ ...claim, status: { phase: 'Bound', capacity: { storage: '2Gi' } } }),
    ).toMatchObject({
      phase: 'Bound',
      sizeBytes: 2 * 2 ** 30,
    });
  });
});

describe('driver rules', () => {
  const cls = (name: string, driver: string, annotations?: Record<string, string>) => ({
    metadata: { name, annotations },
    driver,
    deletionPolicy: 'Delete' as const,
  });

  it.each([
    [
      'the annotation',
      cls('a', 'disk.csi.everest.io', { 'snapwarden.io/max-snapshots-per-volume': '5' }),
      5,
    ],
    ['the everest cap', cls('a', 'disk.csi.everest.io'), 7],
    [
      'the driver cap over a bad annotation',
      cls('a', 'disk.csi.everest.io', { 'snapwarden.io/max-snapshots-per-volume': '0' }),
      7,
    ],
    ['1000 for drivers without a cap', cls('a', 'hostpath.csi.k8s.io'), 1000],
    ['1000 without a class', undefined, 1000],
  ])('caps with %s', (_what, vsClass, cap) => {
    expect(maxSnapshotsFor(vsClass)).toBe(cap);
  });

  it('states no cap for a driver without one, for validating policies against it', () => {
    expect(knownCapOf(cls('a', 'hostpath.csi.k8s.io'))).toBeUndefined();
    expect(knownCapOf(cls('a', 'disk.csi.everest.io'))).toBe(7);
    expect(
      knownCapOf(
        cls('a', 'hostpath.csi.k8s.io', { 'snapwarden.io/max-snapshots-per-volume': '4' }),
      ),
    ).toBe(4);
  });

  it('finds the one default class of a driver, and none when two claim it', () => {
    const isDefault = { 'snapshot.storage.kubernetes.io/is-default-class': 'true' };
    const a = cls('a', 'x', isDefault);
    expect(defaultClassFor([a, cls('b', 'x'), cls('c', 'y', isDefault)], 'x')).toBe(a);
    expect(defaultClassFor([a, cls('b', 'x', isDefault)], 'x')).toBeUndefined();
  });

  it.each([
    ['10Gi', 10 * 2 ** 30],
    ['500M', 5e8],
    ['1e3', 1000],
    ['1024', 1024],
    ['lots', undefined],
    [undefined, undefined],
  ])('reads the quantity %s', (text, bytes) => {
    expect(quantityBytes(text)).toBe(bytes);
  });
});
