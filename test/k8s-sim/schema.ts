import { type FieldError, fieldError, renderValue, required } from './errors.js';
import { isRecord, jsonEqual, type JsonObject } from './types.js';

/** A CEL rule as written in `x-kubernetes-validations`. */
export interface ValidationRule {
  rule: string;
  message?: string;
  fieldPath?: string;
  reason?: string;
}

/**
 * An OpenAPI v3 structural schema as used in CRDs (`openAPIV3Schema`), with the Kubernetes
 * extensions the simulator understands.
 */
export interface StructuralSchema {
  type?: string;
  description?: string;
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: boolean | StructuralSchema;
  items?: StructuralSchema;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  default?: unknown;
  nullable?: boolean;
  oneOf?: StructuralSchema[];
  anyOf?: StructuralSchema[];
  allOf?: StructuralSchema[];
  not?: StructuralSchema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-validations'?: ValidationRule[];
}

/** Accepts any JSON object as a schema; the fields are checked where they are used. */
export function asSchema(value: unknown): StructuralSchema | undefined {
  return isRecord(value) ? value : undefined;
}

const ROOT_KEPT = new Set(['apiVersion', 'kind', 'metadata']);

function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function keepsUnknown(schema: StructuralSchema): boolean {
  return schema['x-kubernetes-preserve-unknown-fields'] === true;
}

function schemaForKey(schema: StructuralSchema, key: string): StructuralSchema | 'keep' | 'drop' {
  const prop = schema.properties?.[key];
  if (prop) return prop;
  const extra = schema.additionalProperties;
  if (isRecord(extra)) return extra;
  if (extra === true || keepsUnknown(schema)) return 'keep';
  if (schema['x-kubernetes-embedded-resource'] && ROOT_KEPT.has(key)) return 'keep';
  return 'drop';
}

/**
 * Prunes unknown fields and applies defaults in place, as the API server does for structural
 * schemas: unknown fields are dropped (their paths collected in `pruned`), `null` is dropped where
 * the schema is not nullable, then `default`s fill in what is missing.
 */
export function pruneAndDefault(
  value: unknown,
  schema: StructuralSchema,
  path: string,
  pruned: string[],
): void {
  if (Array.isArray(value)) {
    if (schema.items)
      value.forEach((item, i) => pruneAndDefault(item, schema.items!, `${path}[${i}]`, pruned));
    return;
  }
  if (!isRecord(value)) return;
  for (const key of Object.keys(value)) pruneKey(value, key, schema, path, pruned);
  applyDefaults(value, schema);
}

function pruneKey(
  obj: JsonObject,
  key: string,
  schema: StructuralSchema,
  path: string,
  pruned: string[],
): void {
  if (path === '' && ROOT_KEPT.has(key)) return;
  const target = schemaForKey(schema, key);
  if (target === 'drop') {
    pruned.push(childPath(path, key));
    delete obj[key];
    return;
  }
  if (target === 'keep') return;
  if (obj[key] === null && target.nullable !== true) {
    delete obj[key];
    return;
  }
  pruneAndDefault(obj[key], target, childPath(path, key), pruned);
}

function applyDefaults(obj: JsonObject, schema: StructuralSchema): void {
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (obj[key] === undefined && prop.default !== undefined) {
      obj[key] = structuredClone(prop.default);
      pruneAndDefault(obj[key], prop, '', []);
    }
  }
}

/** JSON type name of a value, as kube-openapi reports it in type errors. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isRecord(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function typeError(path: string, expected: string, value: unknown): FieldError {
  const actual = jsonType(value);
  return fieldError(
    'FieldValueTypeInvalid',
    path,
    `Invalid value: "${actual}": ${path} in body must be of type ${expected}: "${actual}"`,
  );
}

function checkType(value: unknown, schema: StructuralSchema, path: string): FieldError | undefined {
  if (value === null) {
    return schema.nullable ? undefined : typeError(path, schema.type ?? 'object', value);
  }
  if (schema['x-kubernetes-int-or-string']) {
    const ok = typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
    return ok ? undefined : typeError(path, 'integer,string', value);
  }
  if (schema.type && !typeMatches(schema.type, value)) return typeError(path, schema.type, value);
  return undefined;
}

function invalidBody(path: string, value: unknown, why: string): FieldError {
  return fieldError(
    'FieldValueInvalid',
    path,
    `Invalid value: ${renderValue(value)}: ${path} ${why}`,
  );
}

function checkEnum(value: unknown, schema: StructuralSchema, path: string): FieldError[] {
  if (!schema.enum || schema.enum.some((allowed) => jsonEqual(allowed, value))) return [];
  const supported = schema.enum.map((v) => JSON.stringify(v)).join(', ');
  return [
    fieldError(
      'FieldValueNotSupported',
      path,
      `Unsupported value: ${renderValue(value)}: supported values: ${supported}`,
    ),
  ];
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function checkString(value: string, schema: StructuralSchema, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
    errors.push(invalidBody(path, value, `in body should match '${schema.pattern}'`));
  }
  if (schema.minLength !== undefined && [...value].length < schema.minLength) {
    errors.push(
      invalidBody(path, value, `in body should be at least ${schema.minLength} chars long`),
    );
  }
  if (schema.maxLength !== undefined && [...value].length > schema.maxLength) {
    errors.push(
      fieldError(
        'FieldValueTooLong',
        path,
        `Too long: may not be more than ${schema.maxLength} bytes`,
      ),
    );
  }
  if (schema.format === 'date-time' && !DATE_TIME.test(value)) {
    errors.push(
      invalidBody(path, value, `in body must be of type date-time: ${JSON.stringify(value)}`),
    );
  }
  return errors;
}

function checkNumber(value: number, schema: StructuralSchema, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const { minimum, maximum } = schema;
  if (minimum !== undefined) {
    const bad = schema.exclusiveMinimum ? value <= minimum : value < minimum;
    const op = schema.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
    if (bad) errors.push(invalidBody(path, value, `in body should be ${op} ${minimum}`));
  }
  if (maximum !== undefined) {
    const bad = schema.exclusiveMaximum ? value >= maximum : value > maximum;
    const op = schema.exclusiveMaximum ? 'less than' : 'less than or equal to';
    if (bad) errors.push(invalidBody(path, value, `in body should be ${op} ${maximum}`));
  }
  if (schema.multipleOf !== undefined && value % schema.multipleOf !== 0) {
    errors.push(invalidBody(path, value, `in body should be a multiple of ${schema.multipleOf}`));
  }
  return errors;
}

function checkArray(value: unknown[], schema: StructuralSchema, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    errors.push(
      invalidBody(path, value.length, `in body should have at least ${schema.minItems} items`),
    );
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    errors.push(
      fieldError(
        'FieldValueTooMany',
        path,
        `Too many: ${value.length}: must have at most ${schema.maxItems} items`,
      ),
    );
  }
  if (schema.uniqueItems && value.some((a, i) => value.findIndex((b) => jsonEqual(a, b)) !== i)) {
    errors.push(
      fieldError(
        'FieldValueDuplicate',
        path,
        `Duplicate value: ${path} shall not contain duplicates`,
      ),
    );
  }
  if (schema.items) {
    value.forEach((item, i) => errors.push(...validateValue(item, schema.items!, `${path}[${i}]`)));
  }
  return errors;
}

function checkObject(value: JsonObject, schema: StructuralSchema, path: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const name of schema.required ?? []) {
    if (value[name] === undefined) errors.push(required(childPath(path, name)));
  }
  const count = Object.keys(value).length;
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    errors.push(
      invalidBody(path, count, `in body should have at least ${schema.minProperties} properties`),
    );
  }
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    errors.push(
      invalidBody(path, count, `in body should have at most ${schema.maxProperties} properties`),
    );
  }
  for (const [key, child] of Object.entries(value)) {
    if (path === '' && ROOT_KEPT.has(key)) continue;
    const target = schemaForKey(schema, key);
    if (typeof target === 'object')
      errors.push(...validateValue(child, target, childPath(path, key)));
  }
  return errors;
}

function passes(value: unknown, schema: StructuralSchema, path: string): boolean {
  return validateValue(value, schema, path).length === 0;
}

function checkCombinators(value: unknown, schema: StructuralSchema, path: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const sub of schema.allOf ?? []) errors.push(...validateValue(value, sub, path));
  if (schema.anyOf && !schema.anyOf.some((sub) => passes(value, sub, path))) {
    errors.push(invalidBody(path, value, 'in body must validate at least one schema (anyOf)'));
  }
  if (schema.oneOf && schema.oneOf.filter((sub) => passes(value, sub, path)).length !== 1) {
    errors.push(invalidBody(path, value, 'in body must validate one and only one schema (oneOf)'));
  }
  if (schema.not && passes(value, schema.not, path)) {
    errors.push(invalidBody(path, value, 'in body should not validate the schema (not)'));
  }
  return errors;
}

function checkByType(value: unknown, schema: StructuralSchema, path: string): FieldError[] {
  if (typeof value === 'string') return checkString(value, schema, path);
  if (typeof value === 'number') return checkNumber(value, schema, path);
  if (Array.isArray(value)) return checkArray(value, schema, path);
  if (isRecord(value)) return checkObject(value, schema, path);
  return [];
}

/**
 * Validates a value against a structural schema and returns every violation with its field path
 * (`spec.retention.keepLast`), in the wording of the real API server where it is known.
 */
export function validateValue(
  value: unknown,
  schema: StructuralSchema,
  path: string,
): FieldError[] {
  const typeProblem = checkType(value, schema, path);
  if (typeProblem) return [typeProblem];
  if (value === null) return [];
  return [
    ...checkEnum(value, schema, path),
    ...checkByType(value, schema, path),
    ...checkCombinators(value, schema, path),
  ];
}

/** Problems that make a schema non-structural (a reduced form of the apiextensions checks). */
export function structuralProblems(schema: StructuralSchema, path: string): string[] {
  const problems: string[] = [];
  const hasStructure = schema.properties !== undefined || schema.items !== undefined;
  const typeless = !schema.type && !schema['x-kubernetes-int-or-string'] && !keepsUnknown(schema);
  if (hasStructure && typeless)
    problems.push(`${path}.type: Required value: must not be empty for specified object fields`);
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    problems.push(...structuralProblems(prop, `${path}.properties[${key}]`));
  }
  if (schema.items) problems.push(...structuralProblems(schema.items, `${path}.items`));
  return problems;
}
