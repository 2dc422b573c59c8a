import { z } from 'zod';
import {
  backupPolicySpecOpenApiSchema,
  type JsonValue,
  type OpenApiSchema,
} from './json-schema.js';
import {
  BackupPolicySpecSchema,
  KEEP_RULES,
  LabelSelectorRequirementSchema,
  LabelSelectorSchema,
  RetentionSchema,
} from './policy.schema.js';

const schema = backupPolicySpecOpenApiSchema();

function child(node: OpenApiSchema, ...path: string[]): OpenApiSchema {
  let current: JsonValue = node;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current))
      throw new Error(`no ${key}`);
    current = current[key] as JsonValue;
  }
  return current as OpenApiSchema;
}

/** Every schema node of the tree with its path. */
function nodes(node: JsonValue, path = 'spec'): [string, OpenApiSchema][] {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return [];
  const out: [string, OpenApiSchema][] = [[path, node]];
  for (const [name, sub] of Object.entries((node.properties ?? {}) as Record<string, JsonValue>))
    out.push(...nodes(sub, `${path}.${name}`));
  if (node.items !== undefined) out.push(...nodes(node.items, `${path}[]`));
  if (typeof node.additionalProperties === 'object')
    out.push(...nodes(node.additionalProperties, `${path}{}`));
  return out;
}

const propertiesOf = (node: OpenApiSchema) => Object.keys(child(node, 'properties')).sort();

describe('backupPolicySpecOpenApiSchema', () => {
  it.each<[string, z.ZodObject, string[]]>([
    ['spec', BackupPolicySpecSchema, []],
    ['spec.retention', RetentionSchema, ['properties', 'retention']],
    ['spec.selector', LabelSelectorSchema, ['properties', 'selector']],
    [
      'spec.selector.matchExpressions[]',
      LabelSelectorRequirementSchema,
      ['properties', 'selector', 'properties', 'matchExpressions', 'items'],
    ],
  ])('%s lists every field of the zod schema', (_name, zodSchema, path) => {
    expect(propertiesOf(child(schema, ...path))).toEqual(Object.keys(zodSchema.shape).sort());
  });

  it('types every node and describes every property', () => {
    for (const [path, node] of nodes(schema)) {
      expect([path, typeof node.type]).toEqual([path, 'string']);
    }
    for (const [path, node] of nodes(schema).filter(
      ([p]) => !p.endsWith('[]') && !p.endsWith('{}'),
    )) {
      expect([path, typeof node.description]).toEqual([path, 'string']);
    }
  });

  it('is structural: no $ref, no additionalProperties beside properties, maps typed', () => {
    const text = JSON.stringify(schema);
    expect(text).not.toContain('$ref');
    expect(text).not.toContain('"additionalProperties":false');
    for (const [, node] of nodes(schema)) {
      expect(node.properties !== undefined && node.additionalProperties !== undefined).toBe(false);
    }
    expect(child(schema, 'properties', 'snapshotLabels', 'additionalProperties')).toEqual({
      type: 'string',
    });
    expect(
      child(schema, 'properties', 'selector', 'properties', 'matchLabels', 'additionalProperties'),
    ).toEqual({ type: 'string' });
  });

  it('carries the defaults, enums, bounds and required fields', () => {
    expect(schema.required).toEqual(['schedule', 'retention']);
    expect(child(schema, 'properties', 'timeZone').default).toBe('UTC');
    expect(child(schema, 'properties', 'reservedSlots')).toMatchObject({
      type: 'integer',
      minimum: 0,
      default: 1,
    });
    expect(child(schema, 'properties', 'concurrencyPolicy')).toMatchObject({
      enum: ['Forbid', 'Replace', 'Allow'],
      default: 'Forbid',
    });
    expect(child(schema, 'properties', 'deletionPolicy')).toMatchObject({
      enum: ['Retain', 'Delete'],
      default: 'Retain',
    });
    expect(child(schema, 'properties', 'suspend')).toMatchObject({
      type: 'boolean',
      default: false,
    });
    expect(child(schema, 'properties', 'jitterSeconds')).not.toHaveProperty('maximum');
  });

  it('expresses the "at least one of" rules as anyOf of required', () => {
    expect(schema.anyOf).toEqual([{ required: ['selector'] }, { required: ['claimNames'] }]);
    expect(child(schema, 'properties', 'retention').anyOf).toEqual(
      KEEP_RULES.map((rule) => ({ required: [rule] })),
    );
  });

  it('returns a fresh object each time (callers may embed and mutate it)', () => {
    const a = backupPolicySpecOpenApiSchema();
    a.type = 'changed';
    expect(backupPolicySpecOpenApiSchema().type).toBe('object');
  });
});
