import fc from 'fast-check';
import { selectVolumes, type StoredPolicy } from '#lib/engine';
import { matchesSelector, type BackupPolicySpec } from '#lib/policy';
import { MemoryDriver, type Volume } from '#lib/storage';
import { policySelections, shortestInterval, volumeKey } from './volume-policies.js';

const NAMESPACES = ['shop', 'blog'];
const KEYS = ['app', 'tier'];
const VALUES = ['db', 'web', 'cache'];

const labels = fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), {
  maxKeys: 2,
});
const volumeInput = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
  labels,
  phase: fc.constantFrom('Bound' as const, 'Pending' as const),
});
const requirement = fc.oneof(
  fc.record({
    key: fc.constantFrom(...KEYS),
    operator: fc.constantFrom('In' as const, 'NotIn' as const),
    values: fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }),
  }),
  fc.record({
    key: fc.constantFrom(...KEYS),
    operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const),
  }),
);
const selector = fc.option(
  fc.record(
    {
      matchLabels: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), {
        maxKeys: 1,
      }),
      matchExpressions: fc.array(requirement, { maxLength: 2 }),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);
const policyInput = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  selector,
  claimNames: fc.option(fc.uniqueArray(fc.constantFrom('a', 'c', 'x'), { maxLength: 2 }), {
    nil: undefined,
  }),
  suspend: fc.boolean(),
});

function stored(
  i: number,
  p: { namespace: string; selector?: object; claimNames?: string[]; suspend: boolean },
): StoredPolicy {
  const spec = {
    schedule: '0 3 * * *',
    timeZone: 'UTC',
    ...(p.selector ? { selector: p.selector } : {}),
    ...(p.claimNames ? { claimNames: p.claimNames } : {}),
    suspend: p.suspend,
  } as BackupPolicySpec;
  return {
    key: `${p.namespace}/p${i}`,
    uid: `u${i}`,
    specHash: 'h',
    source: 'test',
    appliedAt: new Date(0).toISOString(),
    policy: {
      apiVersion: 'snapwarden.io/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name: `p${i}`, namespace: p.namespace },
      spec,
    },
  };
}

/** Matching every policy against every volume: what the index must agree with. */
function selecting(volume: Volume, policies: StoredPolicy[]): StoredPolicy[] {
  return policies.filter((s) => {
    const spec = s.policy.spec;
    if (s.policy.metadata.namespace !== volume.namespace) return false;
    if (spec.claimNames?.includes(volume.name)) return true;
    return spec.selector !== undefined && matchesSelector(volume.labels, spec.selector);
  });
}

describe('policySelections', () => {
  it('agrees with matching every policy against every volume', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(volumeInput, {
          selector: (v) => `${v.namespace}/${v.name}`,
          maxLength: 10,
        }),
        fc.array(policyInput, { maxLength: 6 }),
        async (volumes, inputs) => {
          const driver = new MemoryDriver();
          const all = volumes.map((v) => driver.addVolume(v));
          const policies = inputs.map((p, i) => stored(i, p));
          const { found, byVolume } = await policySelections(driver, policies);
          for (const volume of all) {
            const expected = selecting(volume, policies).map((p) => p.key);
            expect((byVolume.get(volumeKey(volume)) ?? []).map((p) => p.key)).toEqual(expected);
          }
          for (const policy of policies) {
            const own = all.filter((v) => v.namespace === policy.policy.metadata.namespace);
            // What a policy's condition and gauges are computed from: the same selection as
            // over every volume of its namespace.
            expect(selectVolumes(found.get(policy.key) ?? [], policy.policy.spec)).toEqual(
              selectVolumes(own, policy.policy.spec),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the shortest interval of the active policies only', () => {
    const policies = [0, 1, 2].map((i) =>
      stored(i, { namespace: 'shop', selector: {}, suspend: false }),
    );
    const intervals = new Map([
      ['shop/p0', 3_600],
      ['shop/p2', 600],
    ]);
    expect(shortestInterval(policies, intervals)).toBe(600);
    expect(shortestInterval(policies.slice(1, 2), intervals)).toBeUndefined();
    expect(shortestInterval([], intervals)).toBeUndefined();
  });
});
