import fc from 'fast-check';
import { matchesSelector, type LabelSelector } from '#lib/policy';
import type { Volume } from '../snapshot-driver.js';
import { VolumeIndex } from './volume-index.js';

const KEYS = ['app', 'tier', 'team', 'example.com/backup'];
const VALUES = ['a', 'b', 'c', ''];
const NAMES = ['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7'];
const NAMESPACES = ['shop', 'blog'];

const labelsArb = fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), {
  maxKeys: 3,
});

const volumeArb = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  name: fc.constantFrom(...NAMES),
  uid: fc.uuid(),
  labels: labelsArb,
  phase: fc.constantFrom('Bound' as const, 'Pending' as const),
});

const requirementArb = fc.oneof(
  fc.record({
    key: fc.constantFrom(...KEYS),
    operator: fc.constantFrom('In' as const, 'NotIn' as const),
    values: fc.array(fc.constantFrom(...VALUES), { maxLength: 3 }),
  }),
  fc.record({
    key: fc.constantFrom(...KEYS),
    operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const),
  }),
);

const selectorArb: fc.Arbitrary<LabelSelector> = fc.record(
  { matchLabels: labelsArb, matchExpressions: fc.array(requirementArb, { maxLength: 3 }) },
  { requiredKeys: [] },
);

/** One change to the volumes: an add or a relabel (upsert), or a removal. */
const opArb = fc.oneof(
  volumeArb.map((volume) => ({ kind: 'upsert' as const, volume })),
  fc.record({
    kind: fc.constant('remove' as const),
    namespace: fc.constantFrom(...NAMESPACES),
    name: fc.constantFrom(...NAMES),
  }),
);

const queryArb = fc.record(
  {
    namespace: fc.constantFrom(...NAMESPACES),
    selector: selectorArb,
    names: fc.array(fc.constantFrom(...NAMES, 'ghost'), { maxLength: 3 }),
  },
  { requiredKeys: ['namespace'] },
);

/** What a scan of every volume answers: the reference `find` must agree with. */
function naiveFind(
  volumes: Iterable<Volume>,
  query: { namespace: string; selector?: LabelSelector; names?: string[] },
): string[] {
  return [...volumes]
    .filter((v) => v.namespace === query.namespace)
    .filter(
      (v) =>
        (query.selector !== undefined && matchesSelector(v.labels, query.selector)) ||
        (query.names ?? []).includes(v.name),
    )
    .map((v) => v.name)
    .sort((a, b) => a.localeCompare(b));
}

describe('VolumeIndex', () => {
  it('answers every selector and named claim as a scan of the volumes would', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40 }),
        fc.array(queryArb, { maxLength: 8 }),
        (ops, queries) => {
          const index = new VolumeIndex();
          const model = new Map<string, Volume>();
          for (const op of ops) {
            if (op.kind === 'upsert') {
              index.upsert(op.volume);
              model.set(`${op.volume.namespace}/${op.volume.name}`, op.volume);
            } else {
              expect(index.remove(op)).toBe(model.delete(`${op.namespace}/${op.name}`));
            }
          }
          expect(index.size).toBe(model.size);
          for (const query of queries) {
            expect(index.find(query).map((v) => v.name)).toEqual(naiveFind(model.values(), query));
          }
        },
      ),
      { numRuns: 300, seed: 20261203 },
    );
  });

  it('returns a volume matched by its selector and named once, with its current labels', () => {
    const index = new VolumeIndex();
    const volume = (labels: Record<string, string>): Volume => ({
      namespace: 'shop',
      name: 'db',
      uid: 'u1',
      labels,
      phase: 'Bound',
    });
    index.upsert(volume({ app: 'shop' }));
    index.upsert(volume({ app: 'legacy' }));

    expect(index.find({ namespace: 'shop', selector: { matchLabels: { app: 'shop' } } })).toEqual(
      [],
    );
    expect(
      index.find({
        namespace: 'shop',
        selector: { matchLabels: { app: 'legacy' } },
        names: ['db'],
      }),
    ).toEqual([volume({ app: 'legacy' })]);
    expect(index.size).toBe(1);
  });

  it('lists one namespace or all, sorted by namespace and name', () => {
    const index = new VolumeIndex();
    for (const [namespace, name] of [
      ['shop', 'web'],
      ['blog', 'posts'],
      ['shop', 'db'],
    ] as const) {
      index.upsert({ namespace, name, uid: name, labels: {}, phase: 'Bound' });
    }
    expect(index.list().map((v) => `${v.namespace}/${v.name}`)).toEqual([
      'blog/posts',
      'shop/db',
      'shop/web',
    ]);
    expect(index.list('shop').map((v) => v.name)).toEqual(['db', 'web']);
    expect(index.list('none')).toEqual([]);
  });
});
