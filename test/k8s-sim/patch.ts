import { ApiError, badRequest } from './errors.js';
import { clone, isRecord, jsonEqual, type JsonObject } from './types.js';

/** The patch flavours the API server accepts, by Content-Type. */
export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** A patch that could not be applied; the HTTP layer answers 422 (or 400 for bad syntax). */
export class PatchError extends Error {
  constructor(
    message: string,
    readonly badRequest = false,
  ) {
    super(message);
    this.name = 'PatchError';
  }
}

const MEDIA_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+json': 'apply',
};

/** Maps a Content-Type header to a patch type, or undefined when unsupported. */
export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const base = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return MEDIA_TYPES[base];
}

/** RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const result: JsonObject = isRecord(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`, true);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

interface Located {
  parent: unknown;
  key: string;
}

function locate(doc: unknown, path: string[], op: string, pointer: string): Located {
  let parent: unknown = doc;
  for (const key of path.slice(0, -1)) {
    const next = Array.isArray(parent)
      ? parent[Number(key)]
      : isRecord(parent)
        ? parent[key]
        : undefined;
    if (next === undefined) {
      throw new PatchError(
        `${op} operation does not apply: doc is missing path: "${pointer}": missing value`,
      );
    }
    parent = next;
  }
  return { parent, key: path[path.length - 1] ?? '' };
}

function readAt(doc: unknown, pointer: string, op: string): unknown {
  const path = decodePointer(pointer);
  if (path.length === 0) return doc;
  const { parent, key } = locate(doc, path, op, pointer);
  const value = Array.isArray(parent)
    ? parent[Number(key)]
    : isRecord(parent)
      ? parent[key]
      : undefined;
  if (value === undefined) {
    throw new PatchError(
      `${op} operation does not apply: doc is missing path: "${pointer}": missing value`,
    );
  }
  return value;
}

function arrayIndex(arr: unknown[], key: string, allowEnd: boolean, pointer: string): number {
  if (key === '-' && allowEnd) return arr.length;
  const index = Number(key);
  const max = allowEnd ? arr.length : arr.length - 1;
  if (!/^\d+$/.test(key) || index > max)
    throw new PatchError(`Unable to access invalid index: ${key} (${pointer})`);
  return index;
}

function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  const path = decodePointer(pointer);
  if (path.length === 0) return clone(value);
  const { parent, key } = locate(doc, path, 'add', pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, pointer), 0, clone(value));
  else if (isRecord(parent)) parent[key] = clone(value);
  else
    throw new PatchError(
      `add operation does not apply: doc is missing path: "${pointer}": missing value`,
    );
  return doc;
}

function removeAt(doc: unknown, pointer: string, op = 'remove'): unknown {
  const path = decodePointer(pointer);
  const { parent, key } = locate(doc, path, op, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false, pointer), 1);
  else if (isRecord(parent) && key in parent) delete parent[key];
  else
    throw new PatchError(
      `${op} operation does not apply: doc is missing path: "${pointer}": missing value`,
    );
  return doc;
}

function operationOf(raw: unknown): { op: string; path: string; from?: string; value?: unknown } {
  if (!isRecord(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
    throw new PatchError('invalid JSON patch operation: op and path are required', true);
  }
  return {
    op: raw.op,
    path: raw.path,
    ...(typeof raw.from === 'string' ? { from: raw.from } : {}),
    ...('value' in raw ? { value: raw.value } : {}),
  };
}

function applyOperation(doc: unknown, raw: unknown): unknown {
  const { op, path, from, value } = operationOf(raw);
  switch (op) {
    case 'add':
      return addAt(doc, path, value);
    case 'remove':
      return removeAt(doc, path);
    case 'replace':
      readAt(doc, path, 'replace');
      return addAt(removeAt(doc, path, 'replace'), path, value);
    case 'move': {
      const moved = readAt(doc, from ?? '', 'move');
      return addAt(removeAt(doc, from ?? '', 'move'), path, moved);
    }
    case 'copy':
      return addAt(doc, path, readAt(doc, from ?? '', 'copy'));
    case 'test':
      if (!jsonEqual(readAt(doc, path, 'test'), value)) {
        throw new PatchError(`testing value ${path} failed: test failed`);
      }
      return doc;
    default:
      throw new PatchError(`Unexpected kind: ${op}`, true);
  }
}

/** RFC 6902 JSON patch, including `test`; throws {@link PatchError} like evanphx/json-patch. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations))
    throw new PatchError(
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
      true,
    );
  return operations.reduce<unknown>((doc, op) => applyOperation(doc, op), clone(target));
}

/** Lists that strategic merge patch merges by key instead of replacing (approximation by field name). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  imagePullSecrets: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  ownerReferences: 'uid',
  conditions: 'type',
  hostAliases: 'ip',
};
const MERGE_PRIMITIVE_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, items: unknown[]): string | undefined {
  const key = MERGE_KEYS[field];
  if (!key) return undefined;
  // Service ports merge by `port`; container ports by `containerPort`.
  if (
    key === 'containerPort' &&
    items.some((i) => isRecord(i) && 'port' in i && !('containerPort' in i))
  ) {
    return 'port';
  }
  return key;
}

function mergeKeyedList(current: unknown[], patch: unknown[], key: string): unknown[] {
  const result = current.map((item) => clone(item));
  for (const entry of patch) {
    if (!isRecord(entry)) continue;
    const index = result.findIndex((item) => isRecord(item) && item[key] === entry[key]);
    if (entry.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = strategicMerge(result[index], entry);
    } else {
      result.push(strategicMerge({}, entry));
    }
  }
  return result;
}

function orderBy(list: unknown[], order: unknown, key: string | undefined): unknown[] {
  if (!Array.isArray(order)) return list;
  const position = (item: unknown): number => {
    const id = key && isRecord(item) ? item[key] : item;
    const found = order.findIndex((o) => (key && isRecord(o) ? o[key] === id : jsonEqual(o, id)));
    return found < 0 ? order.length : found;
  };
  return [...list].sort((a, b) => position(a) - position(b));
}

function mergeList(field: string, current: unknown, patch: unknown[], order: unknown): unknown[] {
  const existing = Array.isArray(current) ? current : [];
  const key = mergeKeyFor(field, [...existing, ...patch]);
  if (key) return orderBy(mergeKeyedList(existing, patch, key), order, key);
  if (MERGE_PRIMITIVE_LISTS.has(field)) {
    const union = [...existing, ...patch.filter((p) => !existing.some((e) => jsonEqual(e, p)))];
    return orderBy(union, order, undefined);
  }
  return clone(patch);
}

function applyDirectives(result: JsonObject, patch: JsonObject): void {
  for (const [key, value] of Object.entries(patch)) {
    const match = /^\$deleteFromPrimitiveList\/(.+)$/.exec(key);
    const field = match?.[1];
    if (field && Array.isArray(result[field]) && Array.isArray(value)) {
      result[field] = (result[field] as unknown[]).filter(
        (item) => !value.some((v) => jsonEqual(v, item)),
      );
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
}

/**
 * Strategic merge patch, approximated: a JSON merge patch that also honours the `$patch`,
 * `$retainKeys`, `$deleteFromPrimitiveList/…` and `$setElementOrder/…` directives kubectl sends, and
 * merges well-known lists (containers, env, volumes, ports, conditions, finalizers…) by their merge
 * key. The real server reads patch strategies from Go struct tags for every field.
 */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  const result: JsonObject = isRecord(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null || (isRecord(value) && value.$patch === 'delete')) delete result[key];
    else if (Array.isArray(value))
      result[key] = mergeList(key, result[key], value, patch[`$setElementOrder/${key}`]);
    else result[key] = strategicMerge(result[key], value);
  }
  applyDirectives(result, patch);
  return result;
}

function stripDirectives(value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) if (!key.startsWith('$')) out[key] = clone(v);
  return out;
}

/**
 * Server-side apply, approximated: the applied configuration is merged onto the live object like a
 * merge patch. Field ownership, conflicts and removal of fields dropped from the applied
 * configuration are not modelled.
 */
export function applyConfiguration(target: unknown, applied: unknown): unknown {
  return mergePatch(target, applied);
}

function patchOfType(type: PatchType, current: unknown, patch: unknown): unknown {
  switch (type) {
    case 'json':
      return jsonPatch(current, patch);
    case 'merge':
      return mergePatch(current, patch);
    case 'strategic':
      return strategicMerge(current, patch);
    case 'apply':
      return applyConfiguration(current, patch);
  }
}

/**
 * Applies a patch of the given type and returns the patched object; a malformed patch is a 400, a
 * patch that does not apply (a failed `test`, a missing path) a 422, as with the real server.
 */
export function applyPatchOfType(type: PatchType, current: unknown, patch: unknown): JsonObject {
  let patched: unknown;
  try {
    patched = patchOfType(type, current, patch);
  } catch (error) {
    if (!(error instanceof PatchError)) throw error;
    if (error.badRequest) throw badRequest(error.message);
    throw new ApiError(422, 'Invalid', error.message);
  }
  if (!isRecord(patched)) throw badRequest('the patched object is not a JSON object');
  return patched;
}
