import { randomUUID } from 'node:crypto';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  expired,
  type FieldError,
  forbidden,
  forbiddenField,
  invalid,
  invalidValue,
  required,
  notFound,
} from './errors.js';
import { addedFinalizers, generateName, normalizeMeta, validateMeta } from './object-meta.js';
import { decodeContinue, objectKey, paginate } from './pagination.js';
import { applyPatchOfType, type PatchType } from './patch.js';
import {
  apiVersionOf,
  qualifiedResource,
  splitApiVersion,
  type ResourceRegistry,
  type ResourceType,
  type WriteContext,
} from './resources.js';
import { compileFilter, matchesFilter } from './selectors.js';
import type { ObjectStore } from './store.js';
import { clone, isRecord, jsonEqual, type KubeObject, rfc3339, text } from './types.js';

/** `fieldValidation` query parameter values. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Options shared by create, update and patch. */
export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Collects `Warning` header texts (unknown fields, deprecations). */
  warnings?: string[];
  /** `status` to write through the status subresource. */
  subresource?: string;
}

/** Options of a PATCH. */
export interface PatchOptions extends WriteOptions {
  fieldManager?: string;
  force?: boolean;
}

/** Options of a DELETE (`metav1.DeleteOptions`). */
export interface DeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Options of a LIST. */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

/** A page of a list, with the list's resourceVersion. */
export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** Outcome of a DELETE: the object, and whether it is gone or only marked for deletion. */
export interface DeleteResult {
  object: KubeObject;
  deleted: boolean;
}

/** Namespaces that always exist and cannot be deleted. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

function withPolicyFinalizer(finalizers: string[], policy: string | undefined): string[] {
  const extra =
    policy === 'Foreground' ? 'foregroundDeletion' : policy === 'Orphan' ? 'orphan' : undefined;
  return extra && !finalizers.includes(extra) ? [...finalizers, extra] : [...finalizers];
}

function specChanged(rt: ResourceType, a: KubeObject, b: KubeObject): boolean {
  const ignored = new Set([
    'metadata',
    'apiVersion',
    'kind',
    ...(rt.statusSubresource ? ['status'] : []),
  ]);
  const strip = (o: KubeObject): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).filter(([k]) => !ignored.has(k)));
  return !jsonEqual(strip(a), strip(b));
}

function sameIgnoringVersion(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject): KubeObject => ({
    ...o,
    metadata: { ...o.metadata, resourceVersion: undefined },
  });
  return jsonEqual(JSON.parse(JSON.stringify(strip(a))), JSON.parse(JSON.stringify(strip(b))));
}

/**
 * The API semantics over {@link ObjectStore}: what the generic registry, the strategies and the
 * built-in admission plugins of a real API server do on create, update, patch, delete and list.
 * The HTTP layer, the controllers and tests all go through it, so they see identical behaviour.
 */
export class SimStore {
  constructor(
    readonly registry: ResourceRegistry,
    readonly objects: ObjectStore,
  ) {}

  /** The storage key of a resource in {@link ObjectStore}. */
  key(rt: ResourceType): string {
    return qualifiedResource(rt);
  }

  /** The resource for a manifest's apiVersion + kind; throws when not served. */
  resourceFor(apiVersion: string, kind: string): ResourceType {
    const rt = this.registry.findByKind(apiVersion, kind);
    if (!rt)
      throw new ApiError(
        404,
        'NotFound',
        `no matches for kind "${kind}" in version "${apiVersion}"`,
      );
    return rt;
  }

  /** One object; 404 when absent. */
  get(rt: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.tryGet(rt, namespace, name);
    if (!found) throw notFound(rt, name);
    return found;
  }

  /** One object, or undefined. */
  tryGet(rt: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(this.key(rt), rt.namespaced ? namespace : undefined, name);
  }

  /** A filtered, optionally paginated list (`namespace` undefined = all namespaces). */
  list(rt: ResourceType, namespace: string | undefined, options: ListOptions = {}): ListResult {
    const ns = rt.namespaced ? namespace : undefined;
    const filter = compileFilter(rt, ns, options.labelSelector, options.fieldSelector);
    let items = this.objects.list(this.key(rt), ns).filter((o) => matchesFilter(rt, o, filter));
    let rv = this.objects.currentRevision();
    if (options.continue) {
      const token = decodeContinue(options.continue);
      if (token.rv < this.objects.compactedRevision) {
        throw expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      rv = token.rv;
      items = items.filter((o) => objectKey(o) > token.start);
    }
    return paginate(items, rv, options);
  }

  /** POST: server-set metadata, defaults, validation, then storage (201 in HTTP terms). */
  create(
    rt: ResourceType,
    namespace: string | undefined,
    body: unknown,
    options: WriteOptions = {},
  ): KubeObject {
    const obj = this.decode(rt, body, options);
    this.bindNamespace(rt, obj, namespace);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    if (meta.resourceVersion)
      throw badRequest('resourceVersion should not be set on objects to be created');
    this.checkNamespaceOpen(rt, obj);
    if (meta.name && this.tryGet(rt, meta.namespace, meta.name)) throw alreadyExists(rt, meta.name);
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339();
    for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const)
      delete meta[field];
    if (rt.tracksGeneration) meta.generation = 1;
    if (rt.statusSubresource && rt.custom) delete obj.status;
    this.runStrategy(rt, obj, undefined, 'create', options);
    if (options.dryRun) return obj;
    return this.objects.put(this.key(rt), obj);
  }

  /** PUT: optimistic concurrency on `metadata.resourceVersion`, then {@link commitUpdate}. */
  update(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: WriteOptions = {},
  ): KubeObject {
    const old = this.get(rt, namespace, name);
    const obj = this.decode(rt, body, options);
    this.checkIdentity(rt, obj, namespace, name);
    const rv = obj.metadata.resourceVersion;
    if (!rv && !rt.allowUnconditionalUpdate) {
      throw invalid(rt, name, [
        invalidValue('metadata.resourceVersion', '0x0', 'must be specified for an update'),
      ]);
    }
    if (rv && rv !== old.metadata.resourceVersion) throw conflict(rt, name);
    return this.commitUpdate(rt, old, obj, options);
  }

  /** PATCH in any of the four flavours; an apply patch creates a missing object. */
  patch(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: { type: PatchType; body: unknown },
    options: PatchOptions = {},
  ): { object: KubeObject; created: boolean } {
    if (patch.type === 'apply' && !options.fieldManager) {
      throw invalid(rt, name, [required('fieldManager', 'is required for apply patch')]);
    }
    const old = this.tryGet(rt, namespace, name);
    if (!old)
      return { object: this.createByApply(rt, namespace, name, patch, options), created: true };
    const patched = applyPatchOfType(patch.type, old, patch.body);
    const next = this.decode(rt, patched, options);
    this.checkIdentity(rt, next, namespace, name);
    const rv = next.metadata.resourceVersion;
    if (rv && rv !== old.metadata.resourceVersion) throw conflict(rt, name);
    return { object: this.commitUpdate(rt, old, next, options), created: false };
  }

  private createByApply(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: { type: PatchType; body: unknown },
    options: PatchOptions,
  ): KubeObject {
    if (patch.type !== 'apply' || options.subresource) throw notFound(rt, name);
    const body = isRecord(patch.body) ? patch.body : {};
    const meta = isRecord(body.metadata) ? body.metadata : {};
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(
        `the name of the object (${text(meta.name)}) does not match the name on the URL (${name})`,
      );
    }
    return this.create(rt, namespace, { ...body, metadata: { ...meta, name } }, options);
  }

  private checkIdentity(
    rt: ResourceType,
    obj: KubeObject,
    namespace: string | undefined,
    name: string,
  ): void {
    if (obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`,
      );
    }
    this.bindNamespace(rt, obj, namespace);
  }

  /**
   * The shared tail of PUT and PATCH: keeps server-owned metadata, separates spec and status
   * writes, bumps `generation` on spec changes, skips no-op writes (no new resourceVersion, no
   * watch event) and completes deletion when the last finalizer goes.
   */
  commitUpdate(
    rt: ResourceType,
    old: KubeObject,
    candidate: KubeObject,
    options: WriteOptions = {},
  ): KubeObject {
    const statusWrite = options.subresource === 'status';
    const next = statusWrite ? this.statusOnly(old, candidate) : candidate;
    this.keepServerFields(rt, old, next, statusWrite);
    this.checkFinalizers(rt, old, next);
    this.runStrategy(rt, next, old, statusWrite ? 'status' : 'update', options);
    if (rt.tracksGeneration && specChanged(rt, old, next)) {
      next.metadata.generation = (old.metadata.generation ?? 0) + 1;
    }
    if (sameIgnoringVersion(old, next)) return old;
    if (options.dryRun) return next;
    return this.store(rt, next);
  }

  /** Stores an updated object, or removes it when it is terminating and no finalizer is left. */
  private store(rt: ResourceType, next: KubeObject): KubeObject {
    const { metadata } = next;
    if (metadata.deletionTimestamp && (metadata.finalizers ?? []).length === 0) {
      return this.objects.remove(this.key(rt), metadata.namespace, metadata.name ?? '') ?? next;
    }
    return this.objects.put(this.key(rt), next);
  }

  private checkFinalizers(rt: ResourceType, old: KubeObject, next: KubeObject): void {
    const added = addedFinalizers(old, next);
    if (!old.metadata.deletionTimestamp || added.length === 0) return;
    const list = added.map((f) => JSON.stringify(f)).join(', ');
    throw invalid(rt, old.metadata.name ?? '', [
      forbiddenField(
        'metadata.finalizers',
        `no new finalizers can be added if the object is being deleted, found new finalizers []string{${list}}`,
      ),
    ]);
  }

  private statusOnly(old: KubeObject, candidate: KubeObject): KubeObject {
    const next = clone(old);
    if (candidate.status === undefined) delete next.status;
    else next.status = candidate.status;
    return next;
  }

  private keepServerFields(
    rt: ResourceType,
    old: KubeObject,
    next: KubeObject,
    statusWrite: boolean,
  ): void {
    const keep = [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
    ] as const;
    const target: Record<string, unknown> = next.metadata;
    for (const field of keep) {
      if (old.metadata[field] === undefined) delete target[field];
      else target[field] = old.metadata[field];
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (rt.statusSubresource && !statusWrite) {
      if (old.status === undefined) delete next.status;
      else next.status = clone(old.status);
    }
  }

  /** DELETE: finalizers (and propagation finalizers) turn it into setting `deletionTimestamp`. */
  delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): DeleteResult {
    const old = this.get(rt, namespace, name);
    this.checkPreconditions(rt, old, options);
    const isNamespace = rt.plural === 'namespaces' && rt.group === '';
    if (isNamespace && SYSTEM_NAMESPACES.includes(name)) {
      throw forbidden(rt, name, 'this namespace may not be deleted');
    }
    const finalizers = withPolicyFinalizer(
      old.metadata.finalizers ?? [],
      options.propagationPolicy,
    );
    // Namespaces always terminate gracefully: the namespace controller empties them first.
    if (finalizers.length === 0 && !isNamespace) {
      if (options.dryRun) return { object: old, deleted: true };
      const gone = this.objects.remove(this.key(rt), old.metadata.namespace, name) ?? old;
      return { object: gone, deleted: true };
    }
    return { object: this.markDeleted(rt, old, finalizers, options), deleted: false };
  }

  private markDeleted(
    rt: ResourceType,
    old: KubeObject,
    finalizers: string[],
    options: DeleteOptions,
  ): KubeObject {
    if (old.metadata.deletionTimestamp && jsonEqual(finalizers, old.metadata.finalizers ?? []))
      return old;
    const next = clone(old);
    next.metadata.finalizers = finalizers;
    next.metadata.deletionTimestamp ??= rfc3339();
    next.metadata.deletionGracePeriodSeconds ??= 0;
    if (rt.tracksGeneration && !old.metadata.deletionTimestamp) {
      next.metadata.generation = (old.metadata.generation ?? 0) + 1;
    }
    return options.dryRun ? next : this.objects.put(this.key(rt), next);
  }

  private checkPreconditions(rt: ResourceType, old: KubeObject, options: DeleteOptions): void {
    const { uid, resourceVersion } = options.preconditions ?? {};
    const name = old.metadata.name ?? '';
    if (uid && uid !== old.metadata.uid) {
      throw conflict(
        rt,
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${old.metadata.uid ?? ''}`,
      );
    }
    if (resourceVersion && resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(
        rt,
        name,
        `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion ?? ''}`,
      );
    }
  }

  /** DELETE on a collection: deletes every match, returns what was deleted or marked. */
  deleteCollection(
    rt: ResourceType,
    namespace: string | undefined,
    list: ListOptions,
    options: DeleteOptions = {},
  ): KubeObject[] {
    const { items } = this.list(rt, namespace, { ...list, limit: undefined, continue: undefined });
    return items.map(
      (item) => this.delete(rt, item.metadata.namespace, item.metadata.name ?? '', options).object,
    );
  }

  /** Parses a request body into an object of this resource, checking apiVersion and kind. */
  private decode(rt: ResourceType, body: unknown, options: WriteOptions): KubeObject {
    if (!isRecord(body)) throw badRequest("Object 'Kind' is missing in the request body");
    const storageVersion = apiVersionOf(rt.group, rt.versions[0] ?? 'v1');
    const apiVersion = typeof body.apiVersion === 'string' ? body.apiVersion : storageVersion;
    const { group, version } = splitApiVersion(apiVersion);
    if (group !== rt.group || !rt.versions.includes(version)) {
      throw badRequest(
        `the API version in the data (${apiVersion}) does not match the expected API version (${storageVersion})`,
      );
    }
    const kind = body.kind ?? rt.kind;
    if (kind !== rt.kind) {
      throw badRequest(
        `the kind in the data (${text(kind)}) does not match the expected kind (${rt.kind})`,
      );
    }
    const pruned: string[] = [];
    const metadata = normalizeMeta(body.metadata, pruned);
    this.reportPruned(pruned, options);
    return { ...clone(body), apiVersion: storageVersion, kind: rt.kind, metadata };
  }

  /** Applies `fieldValidation` to fields the decoder dropped. */
  reportPruned(pruned: string[], options: WriteOptions): void {
    if (pruned.length === 0) return;
    const mode = options.fieldValidation ?? 'Warn';
    if (mode === 'Strict') {
      throw badRequest(
        `strict decoding error: ${pruned.map((p) => `unknown field "${p}"`).join(', ')}`,
      );
    }
    if (mode === 'Warn') for (const p of pruned) options.warnings?.push(`unknown field "${p}"`);
  }

  private bindNamespace(rt: ResourceType, obj: KubeObject, namespace: string | undefined): void {
    if (!rt.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    const given = obj.metadata.namespace;
    if (given && namespace && given !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    obj.metadata.namespace = namespace ?? given;
  }

  private checkNamespaceOpen(rt: ResourceType, obj: KubeObject): void {
    const ns = obj.metadata.namespace;
    if (!rt.namespaced || !ns) return;
    const nsType = this.registry.get('', 'namespaces');
    if (!nsType) return;
    const found = this.tryGet(nsType, undefined, ns);
    if (!found) throw notFound(nsType, ns);
    if (found.metadata.deletionTimestamp) {
      throw forbidden(
        rt,
        obj.metadata.name ?? '',
        `unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  }

  private runStrategy(
    rt: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    operation: WriteContext['operation'],
    options: WriteOptions,
  ): void {
    const ctx: WriteContext = {
      operation,
      fieldValidation: options.fieldValidation ?? 'Warn',
      warnings: options.warnings ?? [],
    };
    rt.strategy.prepare?.(obj, old, ctx);
    const errors: FieldError[] = [
      ...validateMeta(rt, obj),
      ...(rt.strategy.validate?.(obj, old, ctx) ?? []),
    ];
    if (errors.length > 0) throw invalid(rt, obj.metadata.name ?? '', errors);
  }

  /** Test helper: creates an object from a full manifest (apiVersion, kind, metadata.namespace). */
  seed<T extends KubeObject>(manifest: T): KubeObject {
    const rt = this.resourceFor(manifest.apiVersion, manifest.kind);
    return this.create(
      rt,
      manifest.metadata.namespace ?? (rt.namespaced ? 'default' : undefined),
      manifest,
    );
  }

  /** Test helper: reads an object by apiVersion/kind/name, or undefined. */
  read(apiVersion: string, kind: string, name: string, namespace?: string): KubeObject | undefined {
    return this.tryGet(this.resourceFor(apiVersion, kind), namespace, name);
  }

  /** Test helper: all objects of a kind, optionally in one namespace. */
  items(apiVersion: string, kind: string, namespace?: string): KubeObject[] {
    return this.list(this.resourceFor(apiVersion, kind), namespace).items;
  }

  /** Test/controller helper: replaces `status` through the status subresource (no conflict check). */
  writeStatus(obj: KubeObject, status: unknown): KubeObject {
    const rt = this.resourceFor(obj.apiVersion, obj.kind);
    const current = this.get(rt, obj.metadata.namespace, obj.metadata.name ?? '');
    return this.commitUpdate(
      rt,
      current,
      { ...current, status },
      { subresource: rt.statusSubresource ? 'status' : undefined },
    );
  }

  /** Controller helper: merge-patches an object (metadata or spec) without a conflict check. */
  mergeInto(obj: KubeObject, patch: Record<string, unknown>): KubeObject {
    const rt = this.resourceFor(obj.apiVersion, obj.kind);
    return this.patch(rt, obj.metadata.namespace, obj.metadata.name ?? '', {
      type: 'merge',
      body: patch,
    }).object;
  }
}
