import type { FieldError } from './errors.js';
import type { StructuralSchema } from './schema.js';
import type { KubeObject } from './types.js';

/** One column of server-side table output (`Accept: ...;as=Table;g=meta.k8s.io`). */
export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  cell(obj: KubeObject): unknown;
}

/** Context handed to a resource strategy on every write. */
export interface WriteContext {
  /** `create`, `update` (PUT or PATCH) or `status` (either verb on the status subresource). */
  operation: 'create' | 'update' | 'status';
  /** `Strict`, `Warn` or `Ignore`, from the `fieldValidation` query parameter. */
  fieldValidation: 'Strict' | 'Warn' | 'Ignore';
  /** Warnings to send back in `Warning` headers. */
  warnings: string[];
}

/**
 * Per-resource behaviour beyond generic metadata handling: defaulting, pruning and validation,
 * the moral equivalent of a registry strategy plus its admission plugins.
 */
export interface Strategy {
  /** Applies defaults and normalisation (may mutate). Runs before validation. */
  prepare?(obj: KubeObject, old: KubeObject | undefined, ctx: WriteContext): void;
  /** Returns field errors; an empty list means valid. */
  validate?(obj: KubeObject, old: KubeObject | undefined, ctx: WriteContext): FieldError[];
}

/** Everything the server knows about one resource (group + plural), built-in or from a CRD. */
export interface ResourceType {
  group: string;
  /** Served versions, preferred (storage) version first. */
  versions: string[];
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** True when the resource has a `/status` subresource. */
  statusSubresource: boolean;
  /** True when the resource serves the autoscaling/v1 `scale` subresource (built-ins only). */
  scaleSubresource?: boolean;
  /** True when `metadata.generation` is maintained (CRDs and spec-carrying built-ins). */
  tracksGeneration: boolean;
  /** PUT without `metadata.resourceVersion` is allowed (built-ins) or rejected (custom resources). */
  allowUnconditionalUpdate: boolean;
  /** DELETE answers with the object instead of a `Status` (e.g. PVCs, pods). */
  returnDeletedObject: boolean;
  /** True for resources served from a CustomResourceDefinition. */
  custom: boolean;
  /** Extra field selectors beyond `metadata.name`/`metadata.namespace`. */
  fieldLabels: Record<string, (obj: KubeObject) => string | undefined>;
  /** When set, the table's Name column goes last with this priority (events hide it at 1). */
  namePriority?: number;
  /** Printer columns per version (Name is added by the table converter). */
  columns(version: string): PrinterColumn[];
  /** Structural schema per version, for custom resources. */
  schema?(version: string): StructuralSchema | undefined;
  strategy: Strategy;
}

/** `persistentvolumeclaims` for the core group, `volumesnapshots.snapshot.storage.k8s.io` otherwise. */
export function qualifiedResource(rt: Pick<ResourceType, 'group' | 'plural'>): string {
  return rt.group ? `${rt.plural}.${rt.group}` : rt.plural;
}

/** `v1` for the core group, `group/version` otherwise. */
export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Splits an apiVersion into group and version. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** The set of resources currently served, keyed by group and plural. */
export class ResourceRegistry {
  private readonly byKey = new Map<string, ResourceType>();

  /** Adds or replaces a resource; discovery reflects it immediately. */
  register(rt: ResourceType): void {
    this.byKey.set(qualifiedResource(rt), rt);
  }

  /** Stops serving a resource. */
  unregister(group: string, plural: string): void {
    this.byKey.delete(qualifiedResource({ group, plural }));
  }

  /** The resource for group + plural, whatever the version. */
  get(group: string, plural: string): ResourceType | undefined {
    return this.byKey.get(qualifiedResource({ group, plural }));
  }

  /** The resource served at `group/version/plural`, if that version is served. */
  find(group: string, version: string, plural: string): ResourceType | undefined {
    const rt = this.get(group, plural);
    return rt && rt.versions.includes(version) ? rt : undefined;
  }

  /** The resource for an apiVersion + kind pair (as found in a manifest). */
  findByKind(apiVersion: string, kind: string): ResourceType | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    return this.all().find(
      (rt) => rt.group === group && rt.kind === kind && rt.versions.includes(version),
    );
  }

  /** All served resources, in registration order. */
  all(): ResourceType[] {
    return [...this.byKey.values()];
  }

  /** Group names in discovery order: built-in groups first, then custom ones alphabetically. */
  groups(): string[] {
    const builtIn: string[] = [];
    const custom: string[] = [];
    for (const rt of this.byKey.values()) {
      if (rt.group === '') continue;
      const target = rt.custom ? custom : builtIn;
      if (!builtIn.includes(rt.group) && !custom.includes(rt.group)) target.push(rt.group);
    }
    return [...builtIn, ...custom.sort()];
  }

  /** Versions served for a group, preferred first. */
  versionsOf(group: string): string[] {
    const versions: string[] = [];
    for (const rt of this.byKey.values()) {
      if (rt.group !== group) continue;
      for (const v of rt.versions) if (!versions.includes(v)) versions.push(v);
    }
    return versions;
  }

  /** Resources served at one group/version. */
  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((rt) => rt.group === group && rt.versions.includes(version));
  }
}
