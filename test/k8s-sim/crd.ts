import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { badRequest, type FieldError, invalidValue, required } from './errors.js';
import { evaluateJsonPath } from './jsonpath.js';
import { ageOf } from './printers.js';
import type { PrinterColumn, ResourceType, Strategy, WriteContext } from './resources.js';
import {
  asSchema,
  pruneAndDefault,
  type StructuralSchema,
  structuralProblems,
  validateValue,
} from './schema.js';
import type { SimStore } from './sim-store.js';
import type { StoreEvent } from './store.js';
import { validateRules } from './cel.js';
import {
  getPath,
  getString,
  isRecord,
  type JsonObject,
  type KubeObject,
  str,
  strings,
  text,
} from './types.js';

/** The finalizer the API server puts on every CRD so its objects are cleaned up first. */
export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';
const CRD_KEY = 'customresourcedefinitions.apiextensions.k8s.io';

function versionsOf(crd: KubeObject): JsonObject[] {
  const versions = getPath(crd, ['spec', 'versions']);
  return Array.isArray(versions) ? versions.filter(isRecord) : [];
}

function versionRank(v: string): [number, number, number, string] {
  const match = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
  if (!match) return [3, 0, 0, v];
  const stability = match[2] === undefined ? 0 : match[2] === 'beta' ? 1 : 2;
  return [stability, -Number(match[1]), -Number(match[3] ?? 0), v];
}

/** Sorts versions the way Kubernetes prioritises them: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > others. */
export function sortVersions(versions: string[]): string[] {
  return [...versions].sort((a, b) => {
    const ra = versionRank(a);
    const rb = versionRank(b);
    for (let i = 0; i < 3; i += 1) if (ra[i] !== rb[i]) return Number(ra[i]) - Number(rb[i]);
    return ra[3].localeCompare(rb[3]);
  });
}

function cellFor(type: string, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return typeof value === 'string' ? ageOf(value) : null;
    default:
      return text(value);
  }
}

function columnsOf(version: JsonObject | undefined): PrinterColumn[] {
  const defs = Array.isArray(version?.additionalPrinterColumns)
    ? version.additionalPrinterColumns.filter(isRecord)
    : [];
  const effective =
    defs.length > 0
      ? defs
      : [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];
  return effective.map((def) => {
    const type = str(def.type, 'string');
    const path = str(def.jsonPath);
    return {
      name: str(def.name),
      type,
      format: typeof def.format === 'string' ? def.format : '',
      description:
        typeof def.description === 'string'
          ? def.description
          : `Custom resource definition column (in JSONPath format): ${path}`,
      priority: typeof def.priority === 'number' ? def.priority : 0,
      cell: (obj: KubeObject) => cellFor(type, evaluateJsonPath(obj, path)),
    };
  });
}

function selectableFields(
  versions: JsonObject[],
): Record<string, (obj: KubeObject) => string | undefined> {
  const fields: Record<string, (obj: KubeObject) => string | undefined> = {};
  for (const version of versions) {
    const list = Array.isArray(version.selectableFields)
      ? version.selectableFields.filter(isRecord)
      : [];
    for (const field of list) {
      const path = str(field.jsonPath);
      fields[path.replace(/^\./, '')] = (obj) => {
        const value = evaluateJsonPath(obj, path);
        return value === undefined ? undefined : text(value);
      };
    }
  }
  return fields;
}

function customStrategy(
  schemaFor: (v: string) => StructuralSchema | undefined,
  storage: string,
): Strategy {
  return {
    prepare(obj: KubeObject, _old: KubeObject | undefined, ctx: WriteContext) {
      const schema = schemaFor(storage);
      if (!schema) return;
      const pruned: string[] = [];
      pruneAndDefault(obj, schema, '', pruned);
      if (pruned.length === 0 || ctx.fieldValidation === 'Ignore') return;
      if (ctx.fieldValidation === 'Strict') {
        throw badRequest(
          `strict decoding error: ${pruned.map((p) => `unknown field "${p}"`).join(', ')}`,
        );
      }
      for (const p of pruned) ctx.warnings.push(`unknown field "${p}"`);
    },
    validate(obj: KubeObject, old: KubeObject | undefined) {
      const schema = schemaFor(storage);
      if (!schema) return [];
      return [...validateValue(obj, schema, ''), ...validateRules(obj, old, schema)];
    },
  };
}

function namesOf(
  crd: KubeObject,
): Pick<ResourceType, 'kind' | 'listKind' | 'plural' | 'singular' | 'shortNames' | 'categories'> {
  const names = getPath(crd, ['spec', 'names']);
  const n = isRecord(names) ? names : {};
  const kind = str(n.kind);
  return {
    kind,
    listKind: str(n.listKind, `${kind}List`),
    plural: str(n.plural),
    singular: str(n.singular, kind.toLowerCase()),
    shortNames: strings(n.shortNames),
    categories: strings(n.categories),
  };
}

/** Builds the served resource for a CRD object. */
export function resourceFromCrd(crd: KubeObject): ResourceType {
  const versions = versionsOf(crd);
  const served = sortVersions(versions.filter((v) => v.served !== false).map((v) => str(v.name)));
  const storage = str(versions.find((v) => v.storage === true)?.name, served[0] ?? 'v1');
  const byName = (v: string): JsonObject | undefined => versions.find((x) => x.name === v);
  const schemaFor = (v: string): StructuralSchema | undefined =>
    asSchema(getPath(byName(v), ['schema', 'openAPIV3Schema']));
  return {
    group: getString(crd, ['spec', 'group']) ?? '',
    versions: served,
    ...namesOf(crd),
    namespaced: getString(crd, ['spec', 'scope']) !== 'Cluster',
    statusSubresource: isRecord(getPath(byName(storage), ['subresources', 'status'])),
    tracksGeneration: true,
    allowUnconditionalUpdate: false,
    returnDeletedObject: false,
    custom: true,
    fieldLabels: selectableFields(versions),
    columns: (v) => columnsOf(byName(v)),
    schema: schemaFor,
    strategy: customStrategy(schemaFor, storage),
  };
}

function crdSpecErrors(crd: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const group = getString(crd, ['spec', 'group']) ?? '';
  const plural = getString(crd, ['spec', 'names', 'plural']) ?? '';
  if (!group) errors.push(required('spec.group'));
  else if (!group.includes('.'))
    errors.push(invalidValue('spec.group', group, 'should be a domain with at least one dot'));
  if (!plural) errors.push(required('spec.names.plural'));
  if (!getString(crd, ['spec', 'names', 'kind'])) errors.push(required('spec.names.kind'));
  if (crd.metadata.name !== `${plural}.${group}`) {
    errors.push(
      invalidValue('metadata.name', crd.metadata.name, 'must be spec.names.plural+"."+spec.group'),
    );
  }
  const scope = getString(crd, ['spec', 'scope']);
  if (scope !== 'Namespaced' && scope !== 'Cluster')
    errors.push(invalidValue('spec.scope', scope ?? '', 'should be either Cluster or Namespaced'));
  return errors;
}

function crdVersionErrors(crd: KubeObject): FieldError[] {
  const versions = versionsOf(crd);
  if (versions.length === 0)
    return [required('spec.versions', 'must have exactly one version marked as storage version')];
  const errors: FieldError[] = [];
  if (versions.filter((v) => v.storage === true).length !== 1) {
    errors.push(
      invalidValue(
        'spec.versions',
        versions.map((v) => v.name),
        'must have exactly one version marked as storage version',
      ),
    );
  }
  versions.forEach((version, i) => {
    const schema = asSchema(getPath(version, ['schema', 'openAPIV3Schema']));
    const at = `spec.versions[${i}].schema.openAPIV3Schema`;
    if (!schema) {
      errors.push(required(at, 'schemas are required'));
      return;
    }
    if (schema.type !== 'object')
      errors.push(invalidValue(`${at}.type`, schema.type ?? '', 'must be object at the root'));
    for (const problem of structuralProblems(schema, at))
      errors.push({
        type: 'FieldValueRequired',
        field: problem.split(':')[0] ?? at,
        detail: problem.split(': ').slice(1).join(': '),
      });
  });
  return errors;
}

function crdUpdateErrors(crd: KubeObject, old: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of ['group', 'scope'] as const) {
    const before = getString(old, ['spec', field]);
    const after = getString(crd, ['spec', field]);
    if (before !== after)
      errors.push(invalidValue(`spec.${field}`, after ?? '', 'field is immutable'));
  }
  return errors;
}

/** Registry strategy of `customresourcedefinitions`: defaults, the cleanup finalizer, validation. */
export const crdStrategy: Strategy = {
  prepare(crd, _old, ctx) {
    const spec = isRecord(crd.spec) ? crd.spec : {};
    const names = isRecord(spec.names) ? spec.names : {};
    const kind = typeof names.kind === 'string' ? names.kind : '';
    names.singular ??= kind.toLowerCase();
    names.listKind ??= `${kind}List`;
    spec.conversion ??= { strategy: 'None' };
    if (ctx.operation !== 'create') return;
    crd.status = { acceptedNames: { kind: '', plural: '' }, conditions: [], storedVersions: [] };
    const finalizers = crd.metadata.finalizers ?? [];
    if (!finalizers.includes(CRD_CLEANUP_FINALIZER))
      crd.metadata.finalizers = [...finalizers, CRD_CLEANUP_FINALIZER];
  },
  validate(crd, old, ctx) {
    if (ctx.operation === 'status') return [];
    const errors = [...crdSpecErrors(crd), ...crdVersionErrors(crd)];
    return old ? [...errors, ...crdUpdateErrors(crd, old)] : errors;
  },
};

/** The `customresourcedefinitions` resource itself (apiextensions.k8s.io/v1, cluster-scoped). */
export function crdResourceType(): ResourceType {
  return {
    group: 'apiextensions.k8s.io',
    versions: ['v1'],
    kind: 'CustomResourceDefinition',
    listKind: 'CustomResourceDefinitionList',
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    statusSubresource: true,
    tracksGeneration: true,
    allowUnconditionalUpdate: true,
    returnDeletedObject: true,
    custom: false,
    fieldLabels: {},
    columns: () => [
      { name: 'Created At', type: 'date', cell: (o) => o.metadata.creationTimestamp ?? null },
    ],
    strategy: crdStrategy,
  };
}

/** Storage key of CRD objects in the object store. */
export const CRD_RESOURCE_KEY = CRD_KEY;

/** True when a store event concerns CRD objects. */
export function isCrdEvent(event: StoreEvent): boolean {
  return event.resource === CRD_KEY;
}

/** Reads every CRD manifest (`*.yaml`, `*.yml`, `*.json`, multi-document) in a directory. */
export async function readCrdManifests(dir: string): Promise<KubeObject[]> {
  const files = (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  const manifests: KubeObject[] = [];
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const value: unknown = doc.toJS();
      if (
        isRecord(value) &&
        value.kind === 'CustomResourceDefinition' &&
        isRecord(value.metadata)
      ) {
        manifests.push(value as KubeObject);
      }
    }
  }
  return manifests;
}

/**
 * Registers every CRD found in `dir` (create, or update when it exists) and returns their names.
 * Invalid CRDs fail with the same 422 a real server gives.
 */
export async function loadCrdsFromDir(store: SimStore, dir: string): Promise<string[]> {
  const manifests = await readCrdManifests(dir);
  const rt = store.resourceFor('apiextensions.k8s.io/v1', 'CustomResourceDefinition');
  const names: string[] = [];
  for (const manifest of manifests) {
    const name = manifest.metadata.name ?? '';
    const existing = store.tryGet(rt, undefined, name);
    if (existing) {
      const body = {
        ...manifest,
        metadata: { ...manifest.metadata, resourceVersion: existing.metadata.resourceVersion },
      };
      store.update(rt, undefined, name, body);
    } else {
      store.create(rt, undefined, manifest);
    }
    names.push(name);
  }
  return names;
}
