import { builtinStrategies } from './builtin-strategies.js';
import { BUILTIN_COLUMNS, DEFAULT_COLUMNS } from './printers.js';
import type { ResourceType } from './resources.js';
import type { ObjectStore } from './store.js';
import { getPath, getString, type KubeObject, text } from './types.js';

interface BuiltinSpec {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  generation?: boolean;
  returnDeleted?: boolean;
  /** Serves the autoscaling/v1 `scale` subresource over `spec.replicas`. */
  scale?: boolean;
  fields?: Record<string, (obj: KubeObject) => string | undefined>;
  namePriority?: number;
}

const str =
  (...path: string[]) =>
  (obj: KubeObject): string | undefined => {
    const v = getPath(obj, path);
    return v === undefined || v === null ? undefined : text(v);
  };

const ALL = ['all'];

const BUILTINS: BuiltinSpec[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    status: true,
    returnDeleted: true,
    fields: { 'status.phase': str('status', 'phase') },
  },
  {
    group: '',
    version: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    namespaced: true,
    shortNames: ['pvc'],
    status: true,
    returnDeleted: true,
  },
  {
    group: '',
    version: 'v1',
    kind: 'PersistentVolume',
    plural: 'persistentvolumes',
    namespaced: false,
    shortNames: ['pv'],
    status: true,
    returnDeleted: true,
  },
  {
    group: '',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    namespaced: true,
    shortNames: ['ev'],
    namePriority: 1,
    fields: {
      'involvedObject.kind': str('involvedObject', 'kind'),
      'involvedObject.namespace': str('involvedObject', 'namespace'),
      'involvedObject.name': str('involvedObject', 'name'),
      'involvedObject.uid': str('involvedObject', 'uid'),
      'involvedObject.apiVersion': str('involvedObject', 'apiVersion'),
      'involvedObject.resourceVersion': str('involvedObject', 'resourceVersion'),
      'involvedObject.fieldPath': str('involvedObject', 'fieldPath'),
      reason: str('reason'),
      reportingComponent: str('reportingComponent'),
      source: (o) => getString(o, ['source', 'component']) ?? getString(o, ['reportingComponent']),
      type: str('type'),
    },
  },
  {
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    namespaced: true,
    fields: { type: str('type') },
  },
  {
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    namespaced: true,
    shortNames: ['sa'],
    returnDeleted: true,
  },
  {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    namespaced: true,
    shortNames: ['cm'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    shortNames: ['svc'],
    categories: ALL,
    status: true,
  },
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    categories: ALL,
    status: true,
    returnDeleted: true,
    fields: { 'spec.nodeName': str('spec', 'nodeName'), 'status.phase': str('status', 'phase') },
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ALL,
    status: true,
    generation: true,
    scale: true,
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    namespaced: true,
    shortNames: ['sts'],
    categories: ALL,
    status: true,
    generation: true,
    scale: true,
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    namespaced: true,
    shortNames: ['rs'],
    categories: ALL,
    status: true,
    generation: true,
    scale: true,
  },
  {
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    namespaced: true,
    shortNames: ['pdb'],
    status: true,
    generation: true,
  },
  {
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    plural: 'jobs',
    namespaced: true,
    categories: ALL,
    status: true,
    generation: true,
    fields: { 'status.successful': str('status', 'succeeded') },
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'Role',
    plural: 'roles',
    namespaced: true,
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'RoleBinding',
    plural: 'rolebindings',
    namespaced: true,
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRole',
    plural: 'clusterroles',
    namespaced: false,
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    namespaced: false,
  },
  {
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'StorageClass',
    plural: 'storageclasses',
    namespaced: false,
    shortNames: ['sc'],
    returnDeleted: true,
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    plural: 'leases',
    namespaced: true,
  },
];

/** The built-in (non-CRD) resources the simulator serves, with their strategies and printers. */
export function builtinResources(objects: ObjectStore): ResourceType[] {
  const strategies = builtinStrategies(objects);
  return BUILTINS.map((spec) => ({
    group: spec.group,
    versions: [spec.version],
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    plural: spec.plural,
    singular: spec.kind.toLowerCase(),
    namespaced: spec.namespaced,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    statusSubresource: spec.status ?? false,
    scaleSubresource: spec.scale ?? false,
    tracksGeneration: spec.generation ?? false,
    allowUnconditionalUpdate: true,
    returnDeletedObject: spec.returnDeleted ?? false,
    custom: false,
    fieldLabels: spec.fields ?? {},
    ...(spec.namePriority !== undefined ? { namePriority: spec.namePriority } : {}),
    columns: () => BUILTIN_COLUMNS[spec.plural] ?? DEFAULT_COLUMNS,
    strategy: strategies[spec.plural] ?? {},
  }));
}
