import {
  badRequest,
  invalid,
  invalidValue,
  methodNotAllowed,
  unsupportedMediaType,
} from './errors.js';
import { decodeBody } from './http-util.js';
import { applyPatchOfType, patchTypeOf } from './patch.js';
import type { ResourceType } from './resources.js';
import type { SimStore } from './sim-store.js';
import { getPath, isRecord, type KubeObject } from './types.js';

/** One request on a `scale` subresource. */
export interface ScaleCall {
  verb: string;
  rt: ResourceType;
  namespace: string | undefined;
  name: string;
  body: Buffer;
  contentType: string | undefined;
}

/**
 * The autoscaling/v1 `Scale` view of a Deployment, StatefulSet or ReplicaSet: `get` reads
 * `spec.replicas` (and `status.replicas`, `status.selector`), `update` and `patch` (merge, JSON
 * or strategic) write `spec.replicas` of the parent object, like the real registry.
 */
export function serveScale(store: SimStore, call: ScaleCall): KubeObject {
  const { rt, namespace, name } = call;
  const current = toScale(store.get(rt, namespace, name));
  if (call.verb === 'get') return current;
  if (call.verb !== 'update' && call.verb !== 'patch')
    throw methodNotAllowed('the server does not allow this method on the requested resource');
  const desired =
    call.verb === 'update' ? decodeBody(call.body, call.contentType) : patched(call, current);
  const replicas = getPath(desired, ['spec', 'replicas']);
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw invalid(rt, name, [
      invalidValue('spec.replicas', replicas, 'must be greater than or equal to 0'),
    ]);
  }
  const updated = store.patch(rt, namespace, name, {
    type: 'merge',
    body: { spec: { replicas } },
  }).object;
  return toScale(updated);
}

function patched(call: ScaleCall, current: KubeObject): unknown {
  const type = patchTypeOf(call.contentType);
  if (!type || type === 'apply')
    throw unsupportedMediaType(call.contentType ?? '', [
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
    ]);
  const body = decodeBody(call.body, 'application/json');
  if (!isRecord(body) && !Array.isArray(body)) throw badRequest('the patch is not an object');
  return applyPatchOfType(type, current, body);
}

function toScale(object: KubeObject): KubeObject {
  const selector = getPath(object, ['spec', 'selector', 'matchLabels']);
  const labels = isRecord(selector)
    ? Object.entries(selector)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',')
    : '';
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
      creationTimestamp: object.metadata.creationTimestamp,
    },
    spec: { replicas: getPath(object, ['spec', 'replicas']) ?? 0 },
    status: { replicas: getPath(object, ['status', 'replicas']) ?? 0, selector: labels },
  };
}
