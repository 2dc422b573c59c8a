import { createHash } from 'node:crypto';
import type { ResourceRegistry, ResourceType } from './resources.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function definitionName(rt: ResourceType, version: string): string {
  const reversed = rt.group.split('.').reverse().join('.');
  return `${reversed}.${version}.${rt.kind}`;
}

const QUERY = (name: string): Record<string, unknown> => ({
  name,
  in: 'query',
  schema: { type: 'string', uniqueItems: true },
});

function operations(rt: ResourceType, version: string): Record<string, unknown> {
  const gvk = { group: rt.group, version, kind: rt.kind };
  const ref = { $ref: `#/components/schemas/${definitionName(rt, version)}` };
  const body = (types: string[]): Record<string, unknown> => ({
    content: Object.fromEntries(
      types.map((t) => [t, { schema: rt.custom ? ref : { type: 'object' } }]),
    ),
    required: true,
  });
  const response = {
    '200': {
      description: 'OK',
      content: { 'application/json': { schema: rt.custom ? ref : { type: 'object' } } },
    },
  };
  const common = { 'x-kubernetes-group-version-kind': gvk, responses: response };
  return {
    get: { ...common, 'x-kubernetes-action': 'get', operationId: `read${rt.kind}` },
    put: {
      ...common,
      'x-kubernetes-action': 'put',
      requestBody: body(['*/*']),
      parameters: [QUERY('dryRun'), QUERY('fieldManager'), QUERY('fieldValidation')],
    },
    patch: {
      ...common,
      'x-kubernetes-action': 'patch',
      // Strategic merge is not advertised: kubectl then builds it from its compiled-in types.
      requestBody: body([
        'application/json-patch+json',
        'application/merge-patch+json',
        'application/apply-patch+yaml',
      ]),
      parameters: [
        QUERY('dryRun'),
        QUERY('fieldManager'),
        QUERY('fieldValidation'),
        QUERY('force'),
      ],
    },
    delete: { ...common, 'x-kubernetes-action': 'delete' },
  };
}

function itemPath(rt: ResourceType, group: string, version: string): string {
  const base = `/${gvPath(group, version)}`;
  return rt.namespaced
    ? `${base}/namespaces/{namespace}/${rt.plural}/{name}`
    : `${base}/${rt.plural}/{name}`;
}

/** The OpenAPI v3 document of one group/version (enough for kubectl's field-validation probe). */
export function openApiV3Document(
  registry: ResourceRegistry,
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const resources = registry.inGroupVersion(group, version);
  if (resources.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const rt of resources) {
    paths[itemPath(rt, group, version)] = operations(rt, version);
    const schema = rt.schema?.(version);
    schemas[definitionName(rt, version)] = {
      ...(schema ?? { type: 'object' }),
      'x-kubernetes-group-version-kind': [{ group: rt.group, version, kind: rt.kind }],
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.4' },
    paths,
    components: { schemas },
  };
}

/** `/openapi/v3`: the index of group/version documents, each URL carrying a content hash. */
export function openApiV3Index(registry: ResourceRegistry): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const gvs: [string, string][] = [
    ['', 'v1'],
    ...registry
      .groups()
      .flatMap((g) => registry.versionsOf(g).map((v): [string, string] => [g, v])),
  ];
  for (const [group, version] of gvs) {
    const doc = openApiV3Document(registry, group, version);
    if (!doc) continue;
    const hash = createHash('sha512')
      .update(JSON.stringify(doc))
      .digest('hex')
      .slice(0, 128)
      .toUpperCase();
    paths[gvPath(group, version)] = {
      serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${hash}`,
    };
  }
  return { paths };
}

/** Parses `/openapi/v3/apis/<g>/<v>` or `/openapi/v3/api/v1` into group and version. */
export function openApiV3Target(path: string): { group: string; version: string } | undefined {
  const core = /^\/openapi\/v3\/api\/([^/]+)$/.exec(path);
  if (core) return { group: '', version: core[1] ?? '' };
  const named = /^\/openapi\/v3\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  return named ? { group: named[1] ?? '', version: named[2] ?? '' } : undefined;
}
