import type { PrinterColumn, ResourceType } from './resources.js';
import type { KubeObject } from './types.js';

/** How much of each object a Table row carries (`includeObject`). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';

/** `meta.k8s.io/v1 PartialObjectMetadata` for an object. */
export function partialMetadata(obj: KubeObject): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

function rowObject(obj: KubeObject, include: IncludeObject): KubeObject | undefined {
  if (include === 'None') return undefined;
  return include === 'Object' ? obj : partialMetadata(obj);
}

/**
 * Converts objects to a `meta.k8s.io/v1 Table`, as the server does for `kubectl get`: a Name
 * column, then the resource's printer columns (custom resources: `additionalPrinterColumns`).
 */
export function toTable(
  rt: ResourceType,
  version: string,
  objects: KubeObject[],
  listMeta: Record<string, unknown>,
  options: { include: IncludeObject; noHeaders?: boolean },
): Record<string, unknown> {
  const nameLast = rt.namePriority !== undefined;
  const nameColumn: PrinterColumn = {
    name: 'Name',
    type: 'string',
    format: 'name',
    description: NAME_DESCRIPTION,
    priority: rt.namePriority ?? 0,
    cell: (obj) => obj.metadata.name ?? '',
  };
  const columns = nameLast
    ? [...rt.columns(version), nameColumn]
    : [nameColumn, ...rt.columns(version)];
  const definitions = columns.map((c) => ({
    name: c.name,
    type: c.type,
    format: c.format ?? '',
    description: c.description ?? c.name,
    priority: c.priority ?? 0,
  }));
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    ...(options.noHeaders ? {} : { columnDefinitions: definitions }),
    rows: objects.map((obj) => {
      const object = rowObject(obj, options.include);
      return {
        cells: columns.map((c) => c.cell(obj) ?? null),
        ...(object ? { object } : {}),
      };
    }),
  };
}
