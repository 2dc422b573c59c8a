import { methodNotAllowed, pathNotFound } from './errors.js';
import type { ResourceRegistry, ResourceType } from './resources.js';

/** Audit-style verbs, as Kubernetes authorisation and audit logs name them. */
export type Verb =
  'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** What a resource URL addresses (the server's `RequestInfo`). */
export interface ResourceRequest {
  kind: 'resource';
  verb: Verb;
  rt: ResourceType;
  group: string;
  version: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** A discovery, OpenAPI or health URL. */
export interface NonResourceRequest {
  kind: 'nonresource';
  verb: string;
  path: string;
}

/** Result of routing one request. */
export type RequestInfo = ResourceRequest | NonResourceRequest;

function isTrue(value: string | null): boolean {
  return value === 'true' || value === '1';
}

function verbFor(method: string, hasName: boolean, watch: boolean): Verb | undefined {
  switch (method) {
    case 'GET':
      if (watch) return 'watch';
      return hasName ? 'get' : 'list';
    case 'POST':
      return hasName ? undefined : 'create';
    case 'PUT':
      return hasName ? 'update' : undefined;
    case 'PATCH':
      return hasName ? 'patch' : undefined;
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

interface Parts {
  group: string;
  version: string;
  rest: string[];
}

function splitGroupVersion(segments: string[]): Parts | undefined {
  if (segments[0] === 'api' && segments.length >= 3)
    return { group: '', version: segments[1] ?? '', rest: segments.slice(2) };
  if (segments[0] === 'apis' && segments.length >= 4) {
    return { group: segments[1] ?? '', version: segments[2] ?? '', rest: segments.slice(3) };
  }
  return undefined;
}

function addressOf(
  parts: Parts,
  registry: ResourceRegistry,
): Omit<ResourceRequest, 'kind' | 'verb'> | undefined {
  const { group, version } = parts;
  let rest = parts.rest;
  let namespace: string | undefined;
  const nested =
    rest[0] === 'namespaces' && rest.length >= 3
      ? registry.find(group, version, rest[2] ?? '')
      : undefined;
  if (nested?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const rt = registry.find(group, version, rest[0] ?? '');
  if (!rt || rest.length > 3) return undefined;
  if (rt.namespaced && !namespace && rest.length > 1) return undefined;
  return { rt, group, version, namespace, name: rest[1], subresource: rest[2] };
}

/**
 * Routes a request like the API server's request-info resolver: `/api/v1/...` and
 * `/apis/<group>/<version>/...`, with `namespaces/<ns>/` for namespaced resources, legacy
 * `/watch/` prefixes, and verbs derived from method, name and the `watch` parameter.
 */
export function route(method: string, url: URL, registry: ResourceRegistry): RequestInfo {
  const segments = url.pathname
    .split('/')
    .filter((s) => s.length > 0)
    .map(decodeURIComponent);
  const { parts, legacyWatch } = stripLegacyWatch(splitGroupVersion(segments));
  const address = parts && addressOf(parts, registry);
  if (!parts || !address) {
    if (parts && parts.rest.length > 0) throw pathNotFound();
    return { kind: 'nonresource', verb: method.toLowerCase(), path: url.pathname };
  }
  const watch = legacyWatch || isTrue(url.searchParams.get('watch'));
  const verb = verbFor(method, address.name !== undefined, watch);
  if (!verb)
    throw methodNotAllowed('the server does not allow this method on the requested resource');
  if (!servesSubresource(address.rt, address.subresource)) throw pathNotFound();
  return { kind: 'resource', verb, ...address };
}

/** `status` and `scale` where the resource has them; no subresource is always fine. */
function servesSubresource(rt: ResourceType, sub: string | undefined): boolean {
  if (sub === undefined) return true;
  if (sub === 'status') return rt.statusSubresource;
  return sub === 'scale' && rt.scaleSubresource === true;
}

/** `/api/v1/watch/...` (deprecated) is a watch of the path without `watch/`. */
function stripLegacyWatch(parts: Parts | undefined): {
  parts: Parts | undefined;
  legacyWatch: boolean;
} {
  if (parts?.rest[0] !== 'watch') return { parts, legacyWatch: false };
  return { parts: { ...parts, rest: parts.rest.slice(1) }, legacyWatch: true };
}
