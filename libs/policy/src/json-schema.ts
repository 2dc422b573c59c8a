import { z } from 'zod';
import { BackupPolicySpecSchema, KEEP_RULES } from './policy.schema.js';

/** A JSON value, as found in an OpenAPI schema. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** An OpenAPI v3 schema object. */
export type OpenApiSchema = { [key: string]: JsonValue };

/**
 * `spec` of BackupPolicy as an OpenAPI v3 structural schema, for the CRD's
 * `openAPIV3Schema.properties.spec`. Derived from {@link BackupPolicySpecSchema}, so the two
 * cannot drift.
 *
 * Invariants: every property has a `type` and a `description`; there is no `$ref`; maps are
 * `additionalProperties: {type: string}`; `additionalProperties: false` is dropped (Kubernetes
 * rejects it beside `properties` and prunes unknown fields itself); defaults are included, so
 * the API server applies them. Checks that OpenAPI cannot express (cron, time zones, label
 * syntax, caps) remain in `parseBackupPolicy`; the "one of" requirements are `anyOf` of
 * `required`, which structural schemas allow.
 */
export function backupPolicySpecOpenApiSchema(): OpenApiSchema {
  const spec = structuralOpenApiSchema(BackupPolicySpecSchema);
  spec.anyOf = [{ required: ['selector'] }, { required: ['claimNames'] }];
  const retention = schemaObject(schemaObject(spec.properties).retention);
  retention.anyOf = KEEP_RULES.map((rule) => ({ required: [rule] }));
  return spec;
}

/**
 * A zod schema as an OpenAPI v3 structural schema (the input side: defaults included, so the
 * API server applies them). Invariants: no `$ref` (throws instead), no `additionalProperties:
 * false`, no `maximum` of `MAX_SAFE_INTEGER`; a fresh object on every call. Refinements are not
 * carried over; add `anyOf` / CEL rules for the ones a CRD should enforce.
 */
export function structuralOpenApiSchema(schema: z.ZodType): OpenApiSchema {
  const generated = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'throw',
  });
  return schemaObject(toStructural(generated));
}

function toStructural(value: unknown): JsonValue {
  if (Array.isArray(value)) return value.map(toStructural);
  if (value === null || typeof value !== 'object') return value as JsonValue;
  const out: OpenApiSchema = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === '$ref') throw new Error('structural schemas cannot hold $ref');
    if (key === 'additionalProperties' && child === false) continue;
    // zod bounds every integer by MAX_SAFE_INTEGER: noise in a CRD (int64 is wider anyway).
    if (key === 'maximum' && child === Number.MAX_SAFE_INTEGER) continue;
    out[key] = toStructural(child);
  }
  return out;
}

/** `value` as a schema object; throws when it is missing, a primitive or an array. */
export function schemaObject(value: JsonValue | undefined): OpenApiSchema {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('expected a schema object');
  }
  return value;
}
