import { randomInt } from 'node:crypto';
import { badRequest, type FieldError, invalidValue, required } from './errors.js';
import type { ResourceType } from './resources.js';
import { isRecord, type KubeObject, type ObjectMeta } from './types.js';

const META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

/** Finalizer names Kubernetes itself defines (no domain prefix needed). */
export const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** Resources whose names must be DNS labels (≤ 63 chars) rather than subdomains. */
const LABEL_NAMED = new Set(['namespaces', 'services']);
/** Resources whose names only need to be valid path segments (RBAC allows `system:…`). */
const PATH_NAMED = new Set(['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings']);

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** `generateName` + 5 random characters from the same alphabet the API server uses. */
export function generateName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i += 1) suffix += NAME_CHARS[randomInt(NAME_CHARS.length)] ?? 'x';
  return `${prefix.slice(0, 58)}${suffix}`;
}

/**
 * Decodes `metadata` the way the typed decoder does: unknown keys are dropped (and reported), and
 * labels/annotations must be string maps (400 otherwise).
 */
export function normalizeMeta(raw: unknown, pruned: string[]): ObjectMeta {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw))
    throw badRequest('json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta');
  const meta: ObjectMeta = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!META_FIELDS.has(key)) pruned.push(`metadata.${key}`);
    else if (value !== null) meta[key] = value;
  }
  for (const field of ['labels', 'annotations'] as const) checkStringMap(meta[field], field);
  delete meta.managedFields;
  delete meta.selfLink;
  return meta;
}

function checkStringMap(value: unknown, field: string): void {
  if (value === undefined) return;
  const ok = isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
  if (!ok)
    throw badRequest(
      `json: cannot unmarshal into Go struct field ObjectMeta.metadata.${field} of type string`,
    );
}

function nameErrors(rt: ResourceType, name: string | undefined): FieldError[] {
  if (!name) return [required('metadata.name', 'name or generateName is required')];
  if (PATH_NAMED.has(rt.plural)) {
    const bad = name === '.' || name === '..' || /[/%]/.test(name);
    return bad ? [invalidValue('metadata.name', name, 'may not contain "/" or "%"')] : [];
  }
  if (LABEL_NAMED.has(rt.plural)) {
    return LABEL.test(name) && name.length <= 63
      ? []
      : [invalidValue('metadata.name', name, LABEL_MSG)];
  }
  return SUBDOMAIN.test(name) && name.length <= 253
    ? []
    : [invalidValue('metadata.name', name, SUBDOMAIN_MSG)];
}

function labelErrors(labels: Record<string, string> | undefined): FieldError[] {
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    const [prefix, name] = key.includes('/') ? key.split('/', 2) : [undefined, key];
    const badKey =
      !name ||
      !QUALIFIED_NAME.test(name) ||
      name.length > 63 ||
      (prefix !== undefined && !SUBDOMAIN.test(prefix));
    if (badKey)
      errors.push(
        invalidValue(
          'metadata.labels',
          key,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        ),
      );
    if (!LABEL_VALUE.test(value) || value.length > 63)
      errors.push(invalidValue('metadata.labels', value, LABEL_VALUE_MSG));
  }
  return errors;
}

/** Generic ObjectMeta validation shared by every resource. */
export function validateMeta(rt: ResourceType, obj: KubeObject): FieldError[] {
  const meta = obj.metadata;
  const errors = [...nameErrors(rt, meta.name), ...labelErrors(meta.labels)];
  if (rt.namespaced && !meta.namespace) errors.push(required('metadata.namespace'));
  const annotationBytes = JSON.stringify(meta.annotations ?? {}).length;
  if (annotationBytes > 262144) {
    errors.push(
      invalidValue('metadata.annotations', '', 'Too long: must have at most 262144 bytes'),
    );
  }
  return errors;
}

/** Finalizers present on `next` but not on `previous`. */
export function addedFinalizers(previous: KubeObject, next: KubeObject): string[] {
  const before = new Set(previous.metadata.finalizers ?? []);
  return (next.metadata.finalizers ?? []).filter((f) => !before.has(f));
}
