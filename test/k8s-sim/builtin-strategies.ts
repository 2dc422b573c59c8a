import { type FieldError, fieldError, forbiddenField, invalidValue, required } from './errors.js';
import { isQuantity, parseQuantity } from './quantity.js';
import type { Strategy } from './resources.js';
import type { ObjectStore } from './store.js';
import {
  clone,
  getPath,
  getString,
  isRecord,
  jsonEqual,
  type JsonObject,
  type KubeObject,
} from './types.js';

/** Finalizer that keeps a claim while a pod uses it. */
export const PVC_PROTECTION = 'kubernetes.io/pvc-protection';

const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];
const DEFAULT_SC_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

function specOf(obj: KubeObject): JsonObject {
  if (!isRecord(obj.spec)) obj.spec = {};
  return obj.spec as JsonObject;
}

function setDefault(target: JsonObject, key: string, value: unknown): void {
  if (target[key] === undefined) target[key] = value;
}

function defaultStorageClass(objects: ObjectStore): string | undefined {
  const classes = objects
    .list('storageclasses.storage.k8s.io')
    .filter((sc) => sc.metadata.annotations?.[DEFAULT_SC_ANNOTATION] === 'true')
    .sort((a, b) =>
      (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
    );
  return classes[0]?.metadata.name;
}

function syncDataSource(spec: JsonObject): void {
  // AnyVolumeDataSource: the API server mirrors dataSource and dataSourceRef.
  if (isRecord(spec.dataSource) && spec.dataSourceRef === undefined)
    spec.dataSourceRef = clone(spec.dataSource);
  else if (
    isRecord(spec.dataSourceRef) &&
    spec.dataSource === undefined &&
    !spec.dataSourceRef.namespace
  ) {
    spec.dataSource = clone(spec.dataSourceRef);
  }
}

function validateClaimSpec(spec: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const modes = spec.accessModes;
  if (!Array.isArray(modes) || modes.length === 0)
    errors.push(required('spec.accessModes', 'at least 1 access mode is required'));
  for (const mode of Array.isArray(modes) ? modes : []) {
    if (!ACCESS_MODES.includes(String(mode as string))) {
      errors.push(
        fieldError(
          'FieldValueNotSupported',
          'spec.accessModes',
          `Unsupported value: ${JSON.stringify(mode)}: supported values: ${ACCESS_MODES.map((m) => `"${m}"`).join(', ')}`,
        ),
      );
    }
  }
  const storage = getPath(spec, ['resources', 'requests', 'storage']);
  if (storage === undefined) errors.push(required('spec.resources[storage]'));
  else if (typeof storage !== 'string' || !isQuantity(storage)) {
    errors.push(
      invalidValue('spec.resources.requests[storage]', storage, 'must be a valid quantity'),
    );
  }
  return errors;
}

function claimUpdateErrors(obj: KubeObject, old: KubeObject): FieldError[] {
  const mutable = (o: KubeObject): JsonObject => {
    const spec = clone(specOf(o));
    delete spec.resources;
    delete spec.volumeAttributesClassName;
    if (!getString(old, ['spec', 'volumeName'])) delete spec.volumeName;
    return spec;
  };
  const errors: FieldError[] = [];
  if (!jsonEqual(mutable(obj), mutable(old))) {
    errors.push(
      forbiddenField(
        'spec',
        'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      ),
    );
  }
  const before = parseQuantity(getPath(old, ['spec', 'resources', 'requests', 'storage']));
  const after = parseQuantity(getPath(obj, ['spec', 'resources', 'requests', 'storage']));
  if (before !== undefined && after !== undefined && after < before) {
    errors.push(
      forbiddenField(
        'spec.resources.requests.storage',
        'field can not be less than status.capacity',
      ),
    );
  }
  return errors;
}

function claimStrategy(objects: ObjectStore): Strategy {
  return {
    prepare(obj, _old, ctx) {
      const spec = specOf(obj);
      if (ctx.operation !== 'create') return;
      obj.status = { phase: 'Pending' };
      setDefault(spec, 'volumeMode', 'Filesystem');
      if (spec.storageClassName === undefined) {
        const fallback = defaultStorageClass(objects);
        if (fallback) spec.storageClassName = fallback;
      }
      syncDataSource(spec);
      // The StorageObjectInUseProtection admission plugin.
      const finalizers = obj.metadata.finalizers ?? [];
      if (!finalizers.includes(PVC_PROTECTION))
        obj.metadata.finalizers = [...finalizers, PVC_PROTECTION];
    },
    validate(obj, old, ctx) {
      if (ctx.operation === 'status') return [];
      const errors = validateClaimSpec(specOf(obj));
      return old ? [...errors, ...claimUpdateErrors(obj, old)] : errors;
    },
  };
}

const volumeStrategy: Strategy = {
  prepare(obj, _old, ctx) {
    const spec = specOf(obj);
    if (ctx.operation !== 'create') return;
    obj.status = { phase: 'Pending' };
    setDefault(spec, 'persistentVolumeReclaimPolicy', 'Retain');
    setDefault(spec, 'volumeMode', 'Filesystem');
  },
  validate(obj, _old, ctx) {
    if (ctx.operation === 'status') return [];
    const spec = specOf(obj);
    const errors: FieldError[] = [];
    if (getPath(spec, ['capacity', 'storage']) === undefined)
      errors.push(required('spec.capacity'));
    if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0)
      errors.push(required('spec.accessModes'));
    return errors;
  },
};

const namespaceStrategy: Strategy = {
  prepare(obj, old, ctx) {
    const name = obj.metadata.name ?? '';
    obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': name };
    if (ctx.operation === 'create') {
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
    } else if (old) {
      obj.spec = clone(old.spec);
    }
  },
};

const storageClassStrategy: Strategy = {
  prepare(obj, _old, ctx) {
    if (ctx.operation !== 'create') return;
    setDefault(obj, 'reclaimPolicy', 'Delete');
    setDefault(obj, 'volumeBindingMode', 'Immediate');
  },
  validate(obj, old) {
    const errors: FieldError[] = [];
    if (typeof obj.provisioner !== 'string' || !obj.provisioner)
      errors.push(required('provisioner'));
    if (old && obj.provisioner !== old.provisioner)
      errors.push(forbiddenField('provisioner', 'updates to provisioner are forbidden.'));
    if (old && !jsonEqual(obj.parameters, old.parameters))
      errors.push(forbiddenField('parameters', 'updates to parameters are forbidden.'));
    if (old && obj.reclaimPolicy !== old.reclaimPolicy)
      errors.push(forbiddenField('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
    return errors;
  },
};

const secretStrategy: Strategy = {
  prepare(obj) {
    if (!obj.type) obj.type = 'Opaque';
    // stringData is write-only: merged into data (base64) and never stored.
    if (isRecord(obj.stringData)) {
      const data: JsonObject = isRecord(obj.data) ? obj.data : {};
      for (const [k, v] of Object.entries(obj.stringData))
        data[k] = Buffer.from(String(v as string)).toString('base64');
      obj.data = data;
    }
    delete obj.stringData;
  },
  validate(obj) {
    const data = isRecord(obj.data) ? obj.data : {};
    return Object.entries(data)
      .filter(([, v]) => typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v))
      .map(([k]) =>
        invalidValue(`data[${k}]`, '<secret contents redacted>', 'must be base64-encoded'),
      );
  },
};

let nextClusterIp = 1;

const serviceStrategy: Strategy = {
  prepare(obj, old, ctx) {
    const spec = specOf(obj);
    if (ctx.operation !== 'create') {
      if (old)
        for (const key of ['clusterIP', 'clusterIPs']) spec[key] = getPath(old, ['spec', key]);
      return;
    }
    setDefault(spec, 'type', 'ClusterIP');
    setDefault(spec, 'sessionAffinity', 'None');
    if (spec.clusterIP === undefined) {
      spec.clusterIP = `10.96.${Math.floor(nextClusterIp / 250)}.${(nextClusterIp % 250) + 2}`;
      nextClusterIp += 1;
    }
    setDefault(spec, 'clusterIPs', [spec.clusterIP]);
    for (const port of Array.isArray(spec.ports) ? spec.ports : []) {
      if (!isRecord(port)) continue;
      setDefault(port, 'protocol', 'TCP');
      setDefault(port, 'targetPort', port.port);
    }
    obj.status = { loadBalancer: {} };
  },
};

const deploymentStrategy: Strategy = {
  prepare(obj, _old, ctx) {
    const spec = specOf(obj);
    if (ctx.operation === 'create') obj.status = {};
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
    setDefault(spec, 'strategy', {
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    });
  },
  validate(obj, _old, ctx) {
    if (ctx.operation === 'status') return [];
    const spec = specOf(obj);
    const errors: FieldError[] = [];
    if (!isRecord(spec.selector)) errors.push(required('spec.selector'));
    if (!isRecord(spec.template)) errors.push(required('spec.template'));
    return errors;
  },
};

/** StatefulSets and ReplicaSets: `replicas` defaults to 1; selector and template are required. */
const workloadStrategy: Strategy = {
  prepare(obj, _old, ctx) {
    if (ctx.operation === 'create') obj.status = {};
    setDefault(specOf(obj), 'replicas', 1);
  },
  validate: deploymentStrategy.validate,
};

const jobStrategy: Strategy = {
  prepare(obj, _old, ctx) {
    const spec = specOf(obj);
    if (ctx.operation === 'create') obj.status = {};
    setDefault(spec, 'backoffLimit', 6);
    setDefault(spec, 'completions', 1);
    setDefault(spec, 'parallelism', 1);
    setDefault(spec, 'completionMode', 'NonIndexed');
    setDefault(spec, 'suspend', false);
  },
  validate(obj, _old, ctx) {
    if (ctx.operation === 'status') return [];
    return isRecord(specOf(obj).template) ? [] : [required('spec.template')];
  },
};

const podStrategy: Strategy = {
  prepare(obj, _old, ctx) {
    if (ctx.operation === 'create') obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
  },
  validate(obj, _old, ctx) {
    if (ctx.operation === 'status') return [];
    const containers = getPath(obj, ['spec', 'containers']);
    return Array.isArray(containers) && containers.length > 0 ? [] : [required('spec.containers')];
  },
};

const eventStrategy: Strategy = {
  validate(obj) {
    const ns = getString(obj, ['involvedObject', 'namespace']);
    if (ns && ns !== obj.metadata.namespace) {
      return [invalidValue('involvedObject.namespace', ns, 'does not match event.namespace')];
    }
    return [];
  },
};

/** ConfigMaps and Secrets marked `immutable: true` reject changes to their data. */
const immutableData: Strategy = {
  validate(obj, old) {
    if (old?.immutable !== true) return [];
    const errors: FieldError[] = [];
    for (const field of ['data', 'binaryData', 'immutable']) {
      if (!jsonEqual(obj[field], old[field]))
        errors.push(forbiddenField(field, 'field is immutable when `immutable` is set'));
    }
    return errors;
  },
};

/** Built-in strategies by plural; resources not listed only get generic metadata handling. */
export function builtinStrategies(objects: ObjectStore): Record<string, Strategy> {
  return {
    namespaces: namespaceStrategy,
    persistentvolumeclaims: claimStrategy(objects),
    persistentvolumes: volumeStrategy,
    storageclasses: storageClassStrategy,
    secrets: {
      prepare: secretStrategy.prepare,
      validate: (obj, old, ctx) => [
        ...(secretStrategy.validate?.(obj, old, ctx) ?? []),
        ...(immutableData.validate?.(obj, old, ctx) ?? []),
      ],
    },
    configmaps: immutableData,
    services: serviceStrategy,
    deployments: deploymentStrategy,
    statefulsets: workloadStrategy,
    replicasets: workloadStrategy,
    jobs: jobStrategy,
    pods: podStrategy,
    events: eventStrategy,
  };
}
