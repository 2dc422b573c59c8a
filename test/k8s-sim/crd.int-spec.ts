import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { evaluateCel } from './cel.js';
import { startKubeSim, type KubeSim } from './server.js';
import { eventually, simClients, type SimClients, statusOf } from './sim-client.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const GROUP = 'example.snapwarden.io';
const VERSION = 'v1alpha1';
const PLURAL = 'samplepolicies';

interface Policy {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
  };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

function policy(name: string, spec: Record<string, unknown> = {}): Policy {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'SamplePolicy',
    metadata: { name },
    spec: { schedule: '@daily', retention: { keepLast: 3 }, claimNames: ['data'], ...spec },
  };
}

function causes(
  status: Record<string, unknown>,
): { field: string; reason: string; message: string }[] {
  const details = status.details as
    { causes?: { field: string; reason: string; message: string }[] } | undefined;
  return details?.causes ?? [];
}

describe('k8s-sim custom resource definitions', () => {
  let sim: KubeSim;
  let c: SimClients;
  const create = (body: Policy, fieldValidation?: string): Promise<Policy> =>
    c.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: PLURAL,
      body,
      fieldValidation,
    }) as Promise<Policy>;
  const get = (name: string): Promise<Policy> =>
    c.custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: PLURAL,
      name,
    }) as Promise<Policy>;
  const mergePatch = (name: string, body: unknown, status = false): Promise<Policy> => {
    const params = {
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: PLURAL,
      name,
      body,
    };
    const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    return (
      status
        ? c.custom.patchNamespacedCustomObjectStatus(params, options)
        : c.custom.patchNamespacedCustomObject(params, options)
    ) as Promise<Policy>;
  };

  beforeAll(async () => {
    sim = await startKubeSim();
    c = simClients(sim);
    expect(await sim.loadCrdsFromDir(FIXTURES)).toEqual([`${PLURAL}.${GROUP}`]);
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('serves a registered CRD in discovery and reports it Established', async () => {
    const doc = (await (await fetch(`${sim.url}/apis/${GROUP}/${VERSION}`)).json()) as {
      resources: { name: string; shortNames?: string[]; categories?: string[] }[];
    };
    expect(doc.resources.find((r) => r.name === PLURAL)).toMatchObject({
      shortNames: ['spol'],
      categories: ['snapwarden'],
    });
    expect(doc.resources.map((r) => r.name)).toContain(`${PLURAL}/status`);
    const crd = await eventually(
      async () => {
        const found = await c.kc
          .makeApiClient(ApiextensionsV1Api)
          .readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
        return found.status?.conditions?.some(
          (cond) => cond.type === 'Established' && cond.status === 'True',
        )
          ? found
          : undefined;
      },
      2000,
      'Established',
    );
    expect(crd.metadata?.finalizers).toContain('customresourcecleanup.apiextensions.k8s.io');
    expect(crd.status?.acceptedNames?.kind).toBe('SamplePolicy');
  });

  it('applies schema defaults and prunes unknown fields on create', async () => {
    const body = policy('defaults', {
      bogus: true,
      retention: { keepLast: 2, extra: 1 },
      snapshotLabels: { free: { form: 1 } },
    });
    const created = await create(body);
    expect(created.spec).toEqual({
      schedule: '@daily',
      retention: { keepLast: 2 },
      claimNames: ['data'],
      snapshotLabels: { free: { form: 1 } },
      timeZone: 'UTC',
      suspend: false,
      concurrencyPolicy: 'Forbid',
    });
    expect(created.metadata.generation).toBe(1);
  });

  it('rejects unknown fields with 400 under fieldValidation=Strict', async () => {
    const caught = await statusOf(create(policy('strict', { bogus: 1 }), 'Strict'));
    expect(caught.code).toBe(400);
    expect(caught.status.message).toBe('strict decoding error: unknown field "spec.bogus"');
  });

  it.each([
    [
      'a missing required field',
      { retention: {} },
      'spec.retention.keepLast',
      'FieldValueRequired',
      'Required value',
    ],
    [
      'a value above maximum',
      { retention: { keepLast: 9 } },
      'spec.retention.keepLast',
      'FieldValueInvalid',
      'should be less than or equal to 7',
    ],
    [
      'a value below minimum',
      { retention: { keepLast: 0 } },
      'spec.retention.keepLast',
      'FieldValueInvalid',
      'should be greater than or equal to 1',
    ],
    [
      'a wrong type',
      { retention: { keepLast: 'three' } },
      'spec.retention.keepLast',
      'FieldValueTypeInvalid',
      'must be of type integer',
    ],
    [
      'an enum miss',
      { concurrencyPolicy: 'Sometimes' },
      'spec.concurrencyPolicy',
      'FieldValueNotSupported',
      'supported values: "Forbid", "Replace", "Allow"',
    ],
    [
      'a pattern miss',
      { schedule: 'nightly' },
      'spec.schedule',
      'FieldValueInvalid',
      'should match',
    ],
    [
      'too many items',
      { claimNames: ['a', 'b', 'c', 'd'] },
      'spec.claimNames',
      'FieldValueTooMany',
      'must have at most 3 items',
    ],
    [
      'an item too short',
      { claimNames: [''] },
      'spec.claimNames[0]',
      'FieldValueInvalid',
      'at least 1 chars long',
    ],
    [
      'a string too long',
      { timeZone: 'x'.repeat(65) },
      'spec.timeZone',
      'FieldValueTooLong',
      'may not be more than 64',
    ],
    [
      'a map value of the wrong type',
      { selector: { matchLabels: { app: 1 } } },
      'spec.selector.matchLabels.app',
      'FieldValueTypeInvalid',
      'must be of type string',
    ],
  ])('answers 422 naming the field for %s', async (_what, spec, field, reason, message) => {
    const caught = await statusOf(create(policy(`bad-${field.replace(/[^a-z]/g, '')}`, spec)));
    expect(caught.code).toBe(422);
    expect(caught.status.reason).toBe('Invalid');
    expect(causes(caught.status)).toEqual([
      expect.objectContaining({
        field,
        reason,
        message: expect.stringContaining(message) as string,
      }),
    ]);
    expect(caught.status.message).toContain(`SamplePolicy.${GROUP} "`);
  });

  it('evaluates x-kubernetes-validations rules, including transition rules', async () => {
    const missing = await statusOf(
      create({ ...policy('cel'), spec: { schedule: '@daily', retention: { keepLast: 1 } } }),
    );
    expect(missing.code).toBe(422);
    expect(causes(missing.status)).toEqual([
      expect.objectContaining({
        field: 'spec',
        message: 'Invalid value: "object": selector or claimNames is required',
      }),
    ]);
    await create(policy('immutable', { driver: 'csi' }));
    const changed = await statusOf(mergePatch('immutable', { spec: { driver: 'local' } }));
    expect(causes(changed.status)).toEqual([
      expect.objectContaining({
        field: 'spec.driver',
        message: expect.stringContaining('driver is immutable') as string,
      }),
    ]);
  });

  it('bumps generation on spec changes only and keeps status behind the subresource', async () => {
    const created = await create(policy('gen'));
    const withStatus = await mergePatch(
      'gen',
      { status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] } },
      true,
    );
    expect(withStatus.metadata.generation).toBe(1);
    expect(withStatus.status).toMatchObject({ observedGeneration: 1 });
    const labelled = await mergePatch('gen', {
      metadata: { labels: { a: 'b' } },
      status: { observedGeneration: 99 },
    });
    expect(labelled.metadata.generation).toBe(1);
    expect(labelled.status?.observedGeneration).toBe(1);
    const changed = await mergePatch('gen', { spec: { suspend: true } });
    expect(changed.metadata.generation).toBe(2);
    expect(Number(changed.metadata.resourceVersion)).toBeGreaterThan(
      Number(created.metadata.resourceVersion),
    );
    const badStatus = await statusOf(
      mergePatch('gen', { status: { conditions: [{ type: 'Ready', status: 'Maybe' }] } }, true),
    );
    expect(causes(badStatus.status)[0]?.field).toBe('status.conditions[0].status');
  });

  it('requires resourceVersion on PUT and detects conflicts', async () => {
    const current = await get('gen');
    const params = {
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: PLURAL,
      name: 'gen',
    };
    const unconditional = await statusOf(
      c.custom.replaceNamespacedCustomObject({
        ...params,
        body: { ...current, metadata: { ...current.metadata, resourceVersion: undefined } },
      }),
    );
    expect(unconditional.code).toBe(422);
    await c.custom.replaceNamespacedCustomObject({
      ...params,
      body: { ...current, spec: { ...current.spec, suspend: false } },
    });
    const stale = await statusOf(
      c.custom.replaceNamespacedCustomObject({ ...params, body: current }),
    );
    expect(stale.code).toBe(409);
  });

  it('rejects strategic merge patches for custom resources with 415, as the real server does', async () => {
    const caught = await statusOf(
      c.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: 'default',
          plural: PLURAL,
          name: 'gen',
          body: { spec: { suspend: true } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(caught.code).toBe(415);
  });

  it('supports selectableFields as field selectors and rejects other fields', async () => {
    const list = (await c.custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: PLURAL,
      fieldSelector: 'spec.schedule=@daily',
    })) as { items: unknown[] };
    expect(list.items.length).toBeGreaterThan(0);
    const bad = await statusOf(
      c.custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: 'default',
        plural: PLURAL,
        fieldSelector: 'spec.driver=csi',
      }),
    );
    expect(bad.code).toBe(400);
    expect(bad.status.message).toContain('"spec.driver" is not a known field selector');
  });

  it('answers table requests with the printer columns', async () => {
    const res = await fetch(`${sim.url}/apis/${GROUP}/${VERSION}/namespaces/default/${PLURAL}`, {
      headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' },
    });
    const table = (await res.json()) as {
      kind: string;
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[]; object: { kind: string } }[];
    };
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.map((d) => d.name)).toEqual([
      'Name',
      'Schedule',
      'Keep',
      'Suspend',
      'Ready',
      'Age',
    ]);
    const row = table.rows.find((r) => r.cells[0] === 'gen');
    expect(row?.cells.slice(1, 5)).toEqual(['@daily', 3, false, 'True']);
    expect(row?.object.kind).toBe('PartialObjectMetadata');
  });

  it('rejects invalid CRDs and deletes custom objects with their CRD', async () => {
    const api = c.kc.makeApiClient(ApiextensionsV1Api);
    const bad = await statusOf(
      api.createCustomResourceDefinition({
        body: {
          metadata: { name: 'wrong.example.com' },
          spec: {
            group: 'example.com',
            names: { plural: 'things', kind: 'Thing' },
            scope: 'Namespaced',
            versions: [],
          },
        },
      }),
    );
    expect(bad.code).toBe(422);
    await api.deleteCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
    await eventually(
      async () => (await fetch(`${sim.url}/apis/${GROUP}/${VERSION}`)).status === 404,
      2000,
      'CRD gone',
    );
    expect(sim.store.objects.list(`${PLURAL}.${GROUP}`)).toEqual([]);
  });

  it.each([
    ['has(self.a) && !has(self.b)', { self: { a: 1 } }, true],
    ['self.items.all(i, i > 0) && size(self.items) == 2', { self: { items: [1, 2] } }, true],
    [
      "self.name.startsWith('snap-') ? self.keep <= 7 : true",
      { self: { name: 'snap-x', keep: 9 } },
      false,
    ],
    [
      'self.__namespace__ == "ns" && "a" in self.tags',
      { self: { namespace: 'ns', tags: ['a'] } },
      true,
    ],
    ['self.x + 1 == oldSelf.x', { self: { x: 1 }, oldSelf: { x: 2 } }, true],
  ])('evaluates CEL %s', (expression, scope, expected) => {
    expect(evaluateCel(expression, scope)).toBe(expected);
  });
});
