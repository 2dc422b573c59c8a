import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { crdFiles } from '../../../tools/generate-crds.js';
import { buildCrds } from './crd.js';
import { BackupPolicySpecSchema } from './policy.schema.js';
import { RestoreRequestSpecSchema, SnapshotRequestSpecSchema } from './requests.schema.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Node {
  type?: string;
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node | boolean;
  [key: string]: unknown;
}
interface Version {
  name: string;
  additionalPrinterColumns: { name: string; type: string; jsonPath: string }[];
  subresources: unknown;
  schema: { openAPIV3Schema: Node };
}
interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames: string[]; categories: string[] };
    versions: Version[];
  };
}

const crds = buildCrds() as Crd[];
const byKind = (kind: string): Crd => {
  const found = crds.find((crd) => crd.spec.names.kind === kind);
  if (found === undefined) throw new Error(`no CRD for ${kind}`);
  return found;
};
const rootOf = (kind: string): Node => byKind(kind).spec.versions[0]!.schema.openAPIV3Schema;

/** Strips optional/default/nullable wrappers to the schema that holds the shape. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodDefault ||
    current instanceof z.ZodNullable
  )
    current = current.def.innerType as z.ZodType;
  return current;
}

/** Every `path` of a zod field that has no CRD property at the same place. */
function missingFields(schema: z.ZodType, node: Node | undefined, path: string): string[] {
  const inner = unwrap(schema);
  if (node === undefined) return [path];
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
      missingFields(child, node.properties?.[key], `${path}.${key}`),
    );
  }
  if (inner instanceof z.ZodArray)
    return missingFields(inner.element as z.ZodType, node.items, `${path}[]`);
  return [];
}

/** Every schema node with its path. */
function nodes(node: Node, path: string): [string, Node][] {
  const out: [string, Node][] = [[path, node]];
  for (const [key, child] of Object.entries(node.properties ?? {}))
    out.push(...nodes(child, `${path}.${key}`));
  if (node.items !== undefined) out.push(...nodes(node.items, `${path}[]`));
  if (typeof node.additionalProperties === 'object')
    out.push(...nodes(node.additionalProperties, `${path}{}`));
  return out;
}

describe('buildCrds', () => {
  it('defines the three resources in snapwarden.io/v1alpha1, namespaced, with status', () => {
    expect(crds.map((crd) => crd.metadata.name)).toEqual([
      'backuppolicies.snapwarden.io',
      'snapshotrequests.snapwarden.io',
      'restorerequests.snapwarden.io',
    ]);
    for (const crd of crds) {
      expect(crd.spec).toMatchObject({ group: 'snapwarden.io', scope: 'Namespaced' });
      expect(crd.spec.names.categories).toEqual(['snapwarden']);
      expect(crd.spec.versions).toHaveLength(1);
      expect(crd.spec.versions[0]).toMatchObject({
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
      });
    }
  });

  it.each([
    [
      'BackupPolicy',
      ['bp'],
      ['Schedule', 'TimeZone', 'Suspend', 'LastSuccess', 'Next', 'Ready', 'Age'],
    ],
    ['SnapshotRequest', ['snapreq'], ['Phase', 'Reason', 'Age']],
    ['RestoreRequest', ['restorereq'], ['Snapshot', 'Mode', 'Phase', 'Claim', 'Age']],
  ])('%s has its short names and printer columns', (kind, shortNames, columns) => {
    const crd = byKind(kind);
    expect(crd.spec.names.shortNames).toEqual(shortNames);
    expect(crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name)).toEqual(columns);
  });

  it('shows the Ready condition of a policy, past times as ages and the next run as a time', () => {
    const columns = byKind('BackupPolicy').spec.versions[0]!.additionalPrinterColumns;
    expect(columns.find((c) => c.name === 'Ready')?.jsonPath).toBe(
      '.status.conditions[?(@.type=="Ready")].status',
    );
    // Next is in the future, which a date column would print as "<invalid>".
    expect(columns.filter((c) => c.type === 'date').map((c) => c.name)).toEqual([
      'LastSuccess',
      'Age',
    ]);
    expect(columns.find((c) => c.name === 'Next')).toMatchObject({
      type: 'string',
      jsonPath: '.status.nextRunTime',
    });
  });

  it.each<[string, z.ZodType]>([
    ['BackupPolicy', BackupPolicySpecSchema],
    ['SnapshotRequest', SnapshotRequestSpecSchema],
    ['RestoreRequest', RestoreRequestSpecSchema],
  ])('%s spec holds every field of its zod schema', (kind, schema) => {
    expect(missingFields(schema, rootOf(kind).properties?.spec, 'spec')).toEqual([]);
  });

  it.each(['BackupPolicy', 'SnapshotRequest', 'RestoreRequest'])(
    '%s schema is structural: every node typed, no $ref, no additionalProperties beside properties',
    (kind) => {
      const root = rootOf(kind);
      expect(JSON.stringify(root)).not.toContain('$ref');
      for (const [path, node] of nodes(root, kind)) {
        expect([path, typeof node.type]).toEqual([path, 'string']);
        expect([
          path,
          node.properties !== undefined && node.additionalProperties !== undefined,
        ]).toEqual([path, false]);
      }
    },
  );

  it('the field check reports zod fields a CRD lacks, nested ones included', () => {
    expect(missingFields(RestoreRequestSpecSchema, { properties: {} }, 'spec')).toEqual([
      'spec.snapshotName',
      'spec.mode',
      'spec.target',
      'spec.quiesce',
    ]);
    const selectorOnly = { properties: { selector: { properties: { matchExpressions: {} } } } };
    expect(missingFields(SnapshotRequestSpecSchema, selectorOnly, 'spec')).toContain(
      'spec.selector.matchExpressions[]',
    );
  });

  it('writes the status fields PRODUCT.md promises', () => {
    const status = (kind: string) => Object.keys(rootOf(kind).properties?.status?.properties ?? {});
    expect(status('BackupPolicy')).toEqual(
      expect.arrayContaining([
        'observedGeneration',
        'conditions',
        'nextRunTime',
        'lastRunTime',
        'lastSuccessTime',
        'lastRun',
        'missedRuns',
      ]),
    );
    expect(status('SnapshotRequest')).toEqual(
      expect.arrayContaining([
        'phase',
        'snapshots',
        'startTime',
        'completionTime',
        'message',
        'conditions',
      ]),
    );
    expect(status('RestoreRequest')).toEqual(
      expect.arrayContaining(['phase', 'claimName', 'message', 'conditions']),
    );
    const lastRun = rootOf('BackupPolicy').properties?.status?.properties?.lastRun;
    expect(Object.keys(lastRun?.properties?.volumes?.properties ?? {})).toEqual([
      'total',
      'succeeded',
      'failed',
      'skipped',
    ]);
  });

  it('keeps CEL rules to cheap ones: none on policies, the target and quiesce rules on restores', () => {
    const rules = (kind: string) =>
      (rootOf(kind).properties?.spec?.['x-kubernetes-validations'] ?? []) as { rule: string }[];
    expect(rules('BackupPolicy')).toEqual([]);
    expect(rules('SnapshotRequest')).toEqual([]);
    expect(rules('RestoreRequest').map((r) => r.rule)).toEqual([
      "self.mode == 'Rollback' ? !has(self.target) : has(self.target)",
      "self.mode == 'Rollback' || self.quiesce == 'None'",
    ]);
  });
});

describe('committed CRD files', () => {
  it('equal what `npm run crds` generates (deploy/crds and the kustomize base)', async () => {
    const files = await crdFiles(ROOT);
    expect(files).toHaveLength(6);
    for (const file of files) {
      const committed = await readFile(join(ROOT, file.path), 'utf8').catch(() => '(missing)');
      expect([file.path, committed]).toEqual([file.path, file.text]);
    }
  });
});
