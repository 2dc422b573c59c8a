import type { Negotiated } from './http-util.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import type { ListResult } from './sim-store.js';
import { type IncludeObject, partialMetadata, toTable } from './table.js';
import type { KubeObject } from './types.js';

/** An object as served at a version (conversion strategy None: only apiVersion changes). */
export function atVersion(rt: ResourceType, version: string, obj: KubeObject): KubeObject {
  return { ...obj, apiVersion: apiVersionOf(rt.group, version), kind: rt.kind };
}

function listMeta(result: ListResult): Record<string, unknown> {
  return {
    resourceVersion: result.resourceVersion,
    ...(result.continue ? { continue: result.continue } : {}),
    ...(result.remainingItemCount !== undefined
      ? { remainingItemCount: result.remainingItemCount }
      : {}),
  };
}

/** Options of a read response. */
export interface RenderOptions {
  negotiated: Negotiated;
  include: IncludeObject;
}

/**
 * A list response: typed built-in lists carry items without apiVersion/kind (as the real server
 * serialises them); custom resource lists carry them. Table and metadata-only forms as negotiated.
 */
export function renderList(
  rt: ResourceType,
  version: string,
  result: ListResult,
  options: RenderOptions,
): Record<string, unknown> {
  const items = result.items.map((o) => atVersion(rt, version, o));
  const meta = listMeta(result);
  const { negotiated } = options;
  if (negotiated.as === 'Table') {
    const table = toTable(rt, version, items, meta, { include: options.include });
    return { ...table, apiVersion: `meta.k8s.io/${negotiated.asVersion}` };
  }
  if (negotiated.as === 'PartialObjectMetadata') {
    return {
      kind: 'PartialObjectMetadataList',
      apiVersion: `meta.k8s.io/${negotiated.asVersion}`,
      metadata: meta,
      items: items.map(partialMetadata),
    };
  }
  return {
    kind: rt.listKind,
    apiVersion: apiVersionOf(rt.group, version),
    metadata: meta,
    items: rt.custom ? items : items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
  };
}

/** A single-object response, as negotiated. */
export function renderObject(
  rt: ResourceType,
  version: string,
  obj: KubeObject,
  options: RenderOptions,
): Record<string, unknown> {
  const served = atVersion(rt, version, obj);
  const { negotiated } = options;
  if (negotiated.as === 'Table') {
    const table = toTable(
      rt,
      version,
      [served],
      { resourceVersion: obj.metadata.resourceVersion },
      { include: options.include },
    );
    return { ...table, apiVersion: `meta.k8s.io/${negotiated.asVersion}` };
  }
  if (negotiated.as === 'PartialObjectMetadata')
    return { ...partialMetadata(served), apiVersion: `meta.k8s.io/${negotiated.asVersion}` };
  return served;
}
