import { unsupportedMediaType } from './errors.js';
import type { JsonObject } from './types.js';

type FieldType =
  'string' | 'bytes' | 'int' | 'bool' | 'strings' | 'stringMap' | 'bytesMap' | Schema | [Schema];

/** Field number → JSON name and wire type of a protobuf message. */
interface Schema {
  [field: number]: [string, FieldType];
}

const OWNER_REFERENCE: Schema = {
  1: ['kind', 'string'],
  3: ['name', 'string'],
  4: ['uid', 'string'],
  5: ['apiVersion', 'string'],
  6: ['controller', 'bool'],
  7: ['blockOwnerDeletion', 'bool'],
};
const OBJECT_META: Schema = {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  5: ['uid', 'string'],
  6: ['resourceVersion', 'string'],
  11: ['labels', 'stringMap'],
  12: ['annotations', 'stringMap'],
  13: ['ownerReferences', [OWNER_REFERENCE]],
  14: ['finalizers', 'strings'],
};
const NAME_REF: Schema = { 1: ['name', 'string'] };

/** The core types kubectl's generators send as protobuf (`kubectl create namespace|configmap|secret|serviceaccount`). */
const TYPES: Record<string, Schema> = {
  Namespace: { 1: ['metadata', OBJECT_META], 2: ['spec', { 1: ['finalizers', 'strings'] }] },
  ConfigMap: {
    1: ['metadata', OBJECT_META],
    2: ['data', 'stringMap'],
    3: ['binaryData', 'bytesMap'],
    4: ['immutable', 'bool'],
  },
  Secret: {
    1: ['metadata', OBJECT_META],
    2: ['data', 'bytesMap'],
    3: ['type', 'string'],
    4: ['stringData', 'stringMap'],
    5: ['immutable', 'bool'],
  },
  ServiceAccount: {
    1: ['metadata', OBJECT_META],
    3: ['imagePullSecrets', [NAME_REF]],
    4: ['automountServiceAccountToken', 'bool'],
  },
};
const UNKNOWN: Schema = {
  1: ['typeMeta', { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] }],
  2: ['raw', 'bytes'],
};

interface Field {
  number: number;
  varint?: bigint;
  bytes?: Buffer;
}

function readVarint(buf: Buffer, start: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  let pos = start;
  for (;;) {
    const byte = buf[pos];
    if (byte === undefined) throw new Error('truncated varint');
    pos += 1;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

function readFields(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    const number = Number(key >> 3n);
    const wire = Number(key & 7n);
    pos = afterKey;
    if (wire === 0) {
      const [value, next] = readVarint(buf, pos);
      fields.push({ number, varint: value });
      pos = next;
    } else if (wire === 2) {
      const [length, next] = readVarint(buf, pos);
      fields.push({ number, bytes: buf.subarray(next, next + Number(length)) });
      pos = next + Number(length);
    } else {
      pos += wire === 1 ? 8 : wire === 5 ? 4 : Infinity;
    }
  }
  return fields;
}

function mapEntry(bytes: Buffer, valueAsBase64: boolean): [string, string] {
  const entry = readFields(bytes);
  const key = entry.find((f) => f.number === 1)?.bytes?.toString('utf8') ?? '';
  const value = entry.find((f) => f.number === 2)?.bytes ?? Buffer.alloc(0);
  return [key, valueAsBase64 ? value.toString('base64') : value.toString('utf8')];
}

const EMPTY = Buffer.alloc(0);

const SCALARS: Record<Exclude<FieldType, Schema | [Schema]>, (field: Field) => unknown> = {
  string: (f) => (f.bytes ?? EMPTY).toString('utf8'),
  strings: (f) => (f.bytes ?? EMPTY).toString('utf8'),
  bytes: (f) => f.bytes ?? EMPTY,
  int: (f) => Number(f.varint ?? 0n),
  bool: (f) => f.varint === 1n,
  stringMap: (f) => mapEntry(f.bytes ?? EMPTY, false),
  bytesMap: (f) => mapEntry(f.bytes ?? EMPTY, true),
};

function appendTo(out: JsonObject, name: string, value: unknown): void {
  out[name] = [...((out[name] as unknown[] | undefined) ?? []), value];
}

function putEntry(out: JsonObject, name: string, entry: [string, string]): void {
  out[name] = { ...(out[name] ?? {}), [entry[0]]: entry[1] };
}

function decodeField(out: JsonObject, field: Field, [name, type]: [string, FieldType]): void {
  if (Array.isArray(type)) appendTo(out, name, decodeMessage(field.bytes ?? EMPTY, type[0]));
  else if (typeof type === 'object') out[name] = decodeMessage(field.bytes ?? EMPTY, type);
  else if (type === 'strings') appendTo(out, name, SCALARS.strings(field));
  else if (type === 'stringMap' || type === 'bytesMap')
    putEntry(out, name, mapEntry(field.bytes ?? EMPTY, type === 'bytesMap'));
  else out[name] = SCALARS[type](field);
}

function decodeMessage(buf: Buffer, schema: Schema): JsonObject {
  const out: JsonObject = {};
  for (const field of readFields(buf)) {
    const spec = schema[field.number];
    if (spec) decodeField(out, field, spec);
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/**
 * Decodes a Kubernetes protobuf body (`k8s\0` + runtime.Unknown) for the few core types kubectl's
 * generators create; anything else is answered 415.
 */
export function decodeProtobuf(body: Buffer, contentType: string): JsonObject {
  const fail = (): never => {
    throw unsupportedMediaType(contentType, ['application/json', 'application/yaml']);
  };
  if (!body.subarray(0, 4).equals(MAGIC)) fail();
  const unknown = decodeMessage(body.subarray(4), UNKNOWN);
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const schema = typeMeta.apiVersion === 'v1' ? TYPES[typeMeta.kind ?? ''] : undefined;
  if (!schema || !(unknown.raw instanceof Buffer)) return fail();
  return { apiVersion: 'v1', kind: typeMeta.kind, ...decodeMessage(unknown.raw, schema) };
}
