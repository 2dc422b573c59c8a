import { apiVersionOf, type ResourceRegistry, type ResourceType } from './resources.js';

/** The version the simulator claims to be (kubectl compares it with its own). */
export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4-k8s-sim',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.8',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS_VERBS = ['get', 'patch', 'update'];

/** Media type of aggregated discovery (kubectl ≥ 1.26 asks for it first). */
export const AGGREGATED_DISCOVERY =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

function apiResource(rt: ResourceType, version: string): Record<string, unknown>[] {
  const main = {
    name: rt.plural,
    singularName: rt.singular,
    namespaced: rt.namespaced,
    kind: rt.kind,
    verbs: VERBS,
    ...(rt.shortNames.length ? { shortNames: rt.shortNames } : {}),
    ...(rt.categories.length ? { categories: rt.categories } : {}),
    storageVersionHash: Buffer.from(`${rt.group}/${version}/${rt.plural}`)
      .toString('base64')
      .slice(0, 12),
  };
  const status = {
    name: `${rt.plural}/status`,
    singularName: '',
    namespaced: rt.namespaced,
    kind: rt.kind,
    verbs: STATUS_VERBS,
  };
  const scale = {
    name: `${rt.plural}/scale`,
    singularName: '',
    namespaced: rt.namespaced,
    group: 'autoscaling',
    version: 'v1',
    kind: 'Scale',
    verbs: ['get', 'patch', 'update'],
  };
  return [main, ...(rt.statusSubresource ? [status] : []), ...(rt.scaleSubresource ? [scale] : [])];
}

/** `APIResourceList` for `/api/v1` or `/apis/<group>/<version>`. */
export function resourceList(
  registry: ResourceRegistry,
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const resources = registry.inGroupVersion(group, version);
  if (resources.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf(group, version),
    resources: resources.flatMap((rt) => apiResource(rt, version)),
  };
}

/** `APIVersions` for `/api`. */
export function coreVersions(): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }],
  };
}

function groupEntry(registry: ResourceRegistry, group: string): Record<string, unknown> {
  const versions = registry
    .versionsOf(group)
    .map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** `APIGroupList` for `/apis`. */
export function groupList(registry: ResourceRegistry): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry.groups().map((g) => groupEntry(registry, g)),
  };
}

/** `APIGroup` for `/apis/<group>`, or undefined when the group is not served. */
export function apiGroup(
  registry: ResourceRegistry,
  group: string,
): Record<string, unknown> | undefined {
  if (!registry.groups().includes(group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(registry, group) };
}

function discoveryResource(rt: ResourceType, version: string): Record<string, unknown> {
  return {
    resource: rt.plural,
    responseKind: { group: rt.group, version, kind: rt.kind },
    scope: rt.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: rt.singular,
    verbs: VERBS,
    ...(rt.shortNames.length ? { shortNames: rt.shortNames } : {}),
    ...(rt.categories.length ? { categories: rt.categories } : {}),
    ...(rt.statusSubresource
      ? {
          subresources: [
            {
              subresource: 'status',
              responseKind: { group: rt.group, version, kind: rt.kind },
              verbs: STATUS_VERBS,
            },
          ],
        }
      : {}),
  };
}

/**
 * `apidiscovery.k8s.io/v2 APIGroupDiscoveryList`: all groups, versions and resources in one
 * document, for `/api` (core) or `/apis` (named groups).
 */
export function aggregatedDiscovery(
  registry: ResourceRegistry,
  core: boolean,
): Record<string, unknown> {
  const groups = core ? [''] : registry.groups();
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map((group) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: registry.versionsOf(group).map((version) => ({
        version,
        resources: registry
          .inGroupVersion(group, version)
          .map((rt) => discoveryResource(rt, version)),
        freshness: 'Current',
      })),
    })),
  };
}
