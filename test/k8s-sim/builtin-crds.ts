import type { KubeObject } from './types.js';

const str = { type: 'string' };
const immutable = (message: string): Record<string, unknown> => ({
  type: 'string',
  'x-kubernetes-validations': [{ message, rule: 'self == oldSelf' }],
});
const errorSchema = {
  type: 'object',
  properties: { message: str, time: { type: 'string', format: 'date-time' } },
};
const age = { jsonPath: '.metadata.creationTimestamp', name: 'Age', type: 'date' };

interface CrdNames {
  group: string;
  kind: string;
  plural: string;
  scope: 'Namespaced' | 'Cluster';
  shortNames: string[];
}

function crd(
  { group, kind, plural, scope, shortNames }: CrdNames,
  version: Record<string, unknown>,
): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${group}`,
      annotations: { 'k8s-sim.snapwarden.io/preinstalled': 'true' },
    },
    spec: {
      group,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames },
      scope,
      versions: [{ served: true, storage: true, ...version }],
    },
  };
}

const volumeSnapshotClass = crd(
  {
    group: 'snapshot.storage.k8s.io',
    kind: 'VolumeSnapshotClass',
    plural: 'volumesnapshotclasses',
    scope: 'Cluster',
    shortNames: ['vsclass', 'vsclasses'],
  },
  {
    name: 'v1',
    additionalPrinterColumns: [
      { jsonPath: '.driver', name: 'Driver', type: 'string' },
      {
        description:
          'Determines whether a VolumeSnapshotContent created through the VolumeSnapshotClass should be deleted when its bound VolumeSnapshot is deleted.',
        jsonPath: '.deletionPolicy',
        name: 'DeletionPolicy',
        type: 'string',
      },
      age,
    ],
    schema: {
      openAPIV3Schema: {
        type: 'object',
        required: ['deletionPolicy', 'driver'],
        properties: {
          apiVersion: str,
          kind: str,
          metadata: { type: 'object' },
          deletionPolicy: { type: 'string', enum: ['Delete', 'Retain'] },
          driver: str,
          parameters: { type: 'object', additionalProperties: str },
        },
      },
    },
  },
);

const volumeSnapshot = crd(
  {
    group: 'snapshot.storage.k8s.io',
    kind: 'VolumeSnapshot',
    plural: 'volumesnapshots',
    scope: 'Namespaced',
    shortNames: ['vs'],
  },
  {
    name: 'v1',
    subresources: { status: {} },
    additionalPrinterColumns: [
      {
        description: 'Indicates if the snapshot is ready to be used to restore a volume.',
        jsonPath: '.status.readyToUse',
        name: 'ReadyToUse',
        type: 'boolean',
      },
      {
        description:
          'If a new snapshot needs to be created, this contains the name of the source PVC from which this snapshot was (or will be) created.',
        jsonPath: '.spec.source.persistentVolumeClaimName',
        name: 'SourcePVC',
        type: 'string',
      },
      {
        description:
          'If a snapshot already exists, this contains the name of the existing VolumeSnapshotContent object representing the existing snapshot.',
        jsonPath: '.spec.source.volumeSnapshotContentName',
        name: 'SourceSnapshotContent',
        type: 'string',
      },
      {
        description:
          'Represents the minimum size of volume required to rehydrate from this snapshot.',
        jsonPath: '.status.restoreSize',
        name: 'RestoreSize',
        type: 'string',
      },
      {
        description: 'The name of the VolumeSnapshotClass requested by the VolumeSnapshot.',
        jsonPath: '.spec.volumeSnapshotClassName',
        name: 'SnapshotClass',
        type: 'string',
      },
      {
        description:
          'Name of the VolumeSnapshotContent object to which the VolumeSnapshot object intends to bind to.',
        jsonPath: '.status.boundVolumeSnapshotContentName',
        name: 'SnapshotContent',
        type: 'string',
      },
      {
        description:
          'Timestamp when the point-in-time snapshot was taken by the underlying storage system.',
        jsonPath: '.status.creationTime',
        name: 'CreationTime',
        type: 'date',
      },
      age,
    ],
    schema: {
      openAPIV3Schema: {
        type: 'object',
        required: ['spec'],
        properties: {
          apiVersion: str,
          kind: str,
          metadata: { type: 'object' },
          spec: {
            type: 'object',
            required: ['source'],
            properties: {
              source: {
                type: 'object',
                properties: {
                  persistentVolumeClaimName: immutable('persistentVolumeClaimName is immutable'),
                  volumeSnapshotContentName: immutable('volumeSnapshotContentName is immutable'),
                },
                oneOf: [
                  { required: ['persistentVolumeClaimName'] },
                  { required: ['volumeSnapshotContentName'] },
                ],
                'x-kubernetes-validations': [
                  {
                    message: 'persistentVolumeClaimName is required once set',
                    rule: '!has(oldSelf.persistentVolumeClaimName) || has(self.persistentVolumeClaimName)',
                  },
                  {
                    message: 'volumeSnapshotContentName is required once set',
                    rule: '!has(oldSelf.volumeSnapshotContentName) || has(self.volumeSnapshotContentName)',
                  },
                ],
              },
              volumeSnapshotClassName: {
                type: 'string',
                'x-kubernetes-validations': [
                  {
                    message: 'volumeSnapshotClassName must not be the empty string when set',
                    rule: 'size(self) != 0',
                  },
                ],
              },
            },
          },
          status: {
            type: 'object',
            properties: {
              boundVolumeSnapshotContentName: str,
              creationTime: { type: 'string', format: 'date-time' },
              error: errorSchema,
              readyToUse: { type: 'boolean' },
              restoreSize: {
                type: 'string',
                'x-kubernetes-int-or-string': true,
                pattern:
                  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
              },
              volumeGroupSnapshotName: str,
            },
          },
        },
      },
    },
  },
);

const volumeSnapshotContent = crd(
  {
    group: 'snapshot.storage.k8s.io',
    kind: 'VolumeSnapshotContent',
    plural: 'volumesnapshotcontents',
    scope: 'Cluster',
    shortNames: ['vsc', 'vscs'],
  },
  {
    name: 'v1',
    subresources: { status: {} },
    additionalPrinterColumns: [
      {
        description: 'Indicates if the snapshot is ready to be used to restore a volume.',
        jsonPath: '.status.readyToUse',
        name: 'ReadyToUse',
        type: 'boolean',
      },
      {
        description: 'Represents the complete size of the snapshot in bytes',
        jsonPath: '.status.restoreSize',
        name: 'RestoreSize',
        type: 'integer',
      },
      {
        description:
          'Determines whether this VolumeSnapshotContent and its physical snapshot on the underlying storage system should be deleted when its bound VolumeSnapshot is deleted.',
        jsonPath: '.spec.deletionPolicy',
        name: 'DeletionPolicy',
        type: 'string',
      },
      {
        description:
          'Name of the CSI driver used to create the physical snapshot on the underlying storage system.',
        jsonPath: '.spec.driver',
        name: 'Driver',
        type: 'string',
      },
      {
        description: 'Name of the VolumeSnapshotClass to which this snapshot belongs.',
        jsonPath: '.spec.volumeSnapshotClassName',
        name: 'VolumeSnapshotClass',
        type: 'string',
      },
      {
        description:
          'Name of the VolumeSnapshot object to which this VolumeSnapshotContent object is bound.',
        jsonPath: '.spec.volumeSnapshotRef.name',
        name: 'VolumeSnapshot',
        type: 'string',
      },
      {
        description:
          'Namespace of the VolumeSnapshot object to which this VolumeSnapshotContent object is bound.',
        jsonPath: '.spec.volumeSnapshotRef.namespace',
        name: 'VolumeSnapshotNamespace',
        type: 'string',
      },
      age,
    ],
    schema: {
      openAPIV3Schema: {
        type: 'object',
        required: ['spec'],
        properties: {
          apiVersion: str,
          kind: str,
          metadata: { type: 'object' },
          spec: {
            type: 'object',
            required: ['deletionPolicy', 'driver', 'source', 'volumeSnapshotRef'],
            properties: {
              deletionPolicy: { type: 'string', enum: ['Delete', 'Retain'] },
              driver: str,
              source: {
                type: 'object',
                properties: {
                  snapshotHandle: immutable('snapshotHandle is immutable'),
                  volumeHandle: immutable('volumeHandle is immutable'),
                },
                oneOf: [{ required: ['snapshotHandle'] }, { required: ['volumeHandle'] }],
                'x-kubernetes-validations': [
                  {
                    message: 'volumeHandle is required once set',
                    rule: '!has(oldSelf.volumeHandle) || has(self.volumeHandle)',
                  },
                  {
                    message: 'snapshotHandle is required once set',
                    rule: '!has(oldSelf.snapshotHandle) || has(self.snapshotHandle)',
                  },
                ],
              },
              sourceVolumeMode: immutable('sourceVolumeMode is immutable'),
              volumeSnapshotClassName: str,
              volumeSnapshotRef: {
                type: 'object',
                'x-kubernetes-map-type': 'atomic',
                properties: {
                  apiVersion: str,
                  fieldPath: str,
                  kind: str,
                  name: str,
                  namespace: str,
                  resourceVersion: str,
                  uid: str,
                },
                'x-kubernetes-validations': [
                  {
                    message:
                      'both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set',
                    rule: 'has(self.name) && has(self.__namespace__)',
                  },
                ],
              },
            },
          },
          status: {
            type: 'object',
            properties: {
              creationTime: { type: 'integer', format: 'int64' },
              error: errorSchema,
              readyToUse: { type: 'boolean' },
              restoreSize: { type: 'integer', format: 'int64', minimum: 0 },
              snapshotHandle: str,
              volumeGroupSnapshotHandle: str,
            },
          },
        },
      },
    },
  },
);

const localVolumeSnapshotRestore = crd(
  {
    group: 'hwameistor.io',
    kind: 'LocalVolumeSnapshotRestore',
    plural: 'localvolumesnapshotrestores',
    scope: 'Cluster',
    shortNames: ['lvsrestore', 'lvsnaprestore'],
  },
  {
    name: 'v1alpha1',
    subresources: { status: {} },
    additionalPrinterColumns: [
      {
        description: 'Target for the restore',
        jsonPath: '.spec.targetVolume',
        name: 'targetvolume',
        type: 'string',
      },
      {
        description: 'Source snapshot for the restore',
        jsonPath: '.spec.sourceVolumeSnapshot',
        name: 'sourcesnapshot',
        type: 'string',
      },
      {
        description: 'State of the restore',
        jsonPath: '.status.state',
        name: 'state',
        type: 'string',
      },
      { jsonPath: '.metadata.creationTimestamp', name: 'age', type: 'date' },
    ],
    schema: {
      openAPIV3Schema: {
        type: 'object',
        properties: {
          apiVersion: str,
          kind: str,
          metadata: { type: 'object' },
          spec: {
            type: 'object',
            required: ['sourceVolumeSnapshot', 'restoreType'],
            properties: {
              sourceVolumeSnapshot: str,
              restoreType: { type: 'string', enum: ['rollback', 'create'], default: 'create' },
              targetVolume: str,
              targetPoolName: str,
              abort: { type: 'boolean', default: false },
            },
          },
          status: { type: 'object', properties: { state: str, message: str } },
        },
      },
    },
  },
);

/**
 * CRDs a snapshot-capable cluster has installed before anyone uses it: the external-snapshotter
 * v8 CRDs (snapshot.storage.k8s.io/v1, descriptions trimmed) and HwameiStor's
 * LocalVolumeSnapshotRestore. They are ordinary CRD objects (`kubectl get crd` lists them).
 */
export function preinstalledCrds(): KubeObject[] {
  return [
    volumeSnapshotClass,
    volumeSnapshot,
    volumeSnapshotContent,
    localVolumeSnapshotRestore,
  ].map((c) => structuredClone(c));
}
