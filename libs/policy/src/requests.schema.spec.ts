import {
  parseRestoreRequestSpec,
  parseSnapshotRequestSpec,
  restoreRequestSpecOpenApiSchema,
  snapshotRequestSpecOpenApiSchema,
} from './requests.schema.js';

const errorsOf = (result: { ok: boolean; errors?: { field: string; message: string }[] }) =>
  result.ok ? [] : (result.errors ?? []);

describe('parseSnapshotRequestSpec', () => {
  it('applies the defaults: ttl 168h, timeout 600 s', () => {
    expect(parseSnapshotRequestSpec({ claimNames: ['shop-db'] })).toEqual({
      ok: true,
      value: { claimNames: ['shop-db'], ttl: '168h', timeoutSeconds: 600 },
    });
  });

  it('accepts a selector, a policy reference, a reason and ttl 0 (kept until deleted)', () => {
    const spec = {
      selector: { matchLabels: { release: 'shop' } },
      policyRef: { name: 'nightly' },
      reason: 'pre-upgrade shop 2.4',
      ttl: '0',
      timeoutSeconds: 30,
    };
    expect(parseSnapshotRequestSpec(spec)).toEqual({ ok: true, value: spec });
  });

  it.each<[string, unknown, string, RegExp]>([
    ['neither selector nor claimNames', {}, 'spec.selector', /selector or claimNames/],
    ['an empty claim list', { claimNames: [] }, 'spec.claimNames', /must not be empty/],
    ['a bad ttl', { claimNames: ['a'], ttl: 'soon' }, 'spec.ttl', /invalid duration/],
    ['timeout 0', { claimNames: ['a'], timeoutSeconds: 0 }, 'spec.timeoutSeconds', /at least 1/],
    [
      'a fractional timeout',
      { claimNames: ['a'], timeoutSeconds: 1.5 },
      'spec.timeoutSeconds',
      /integer/,
    ],
    ['a reason over 1024', { claimNames: ['a'], reason: 'x'.repeat(1025) }, 'spec.reason', /./],
    ['an unknown field', { claimNames: ['a'], keep: true }, 'spec.keep', /unknown field/],
    [
      'a bad policy name',
      { claimNames: ['a'], policyRef: { name: 'Nightly' } },
      'spec.policyRef.name',
      /DNS-1123/,
    ],
    [
      'a bad selector label',
      { selector: { matchLabels: { 'a b': 'x' } } },
      'spec.selector.matchLabels[a b]',
      /invalid label key/,
    ],
  ])('rejects %s, naming the field', (_name, spec, field, message) => {
    const errors = errorsOf(parseSnapshotRequestSpec(spec));
    expect(errors).toContainEqual({ field, message: expect.stringMatching(message) });
  });

  it('rejects a spec that is not an object without throwing', () => {
    expect(errorsOf(parseSnapshotRequestSpec('snap'))).toEqual([
      { field: 'spec', message: 'must be an object' },
    ]);
  });
});

describe('parseRestoreRequestSpec', () => {
  it('defaults to a new volume', () => {
    const spec = { snapshotName: 'snap-1', target: { claimName: 'restored' } };
    expect(parseRestoreRequestSpec(spec)).toEqual({
      ok: true,
      value: { ...spec, mode: 'NewVolume', quiesce: 'None' },
    });
  });

  it('accepts a full target and a rollback without one', () => {
    const target = {
      claimName: 'restored',
      storageClassName: 'csi-disk',
      size: '10Gi',
      accessModes: ['ReadWriteOnce'],
    };
    expect(parseRestoreRequestSpec({ snapshotName: 's', target }).ok).toBe(true);
    expect(parseRestoreRequestSpec({ snapshotName: 's', mode: 'Rollback' })).toEqual({
      ok: true,
      value: { snapshotName: 's', mode: 'Rollback', quiesce: 'None' },
    });
    expect(
      parseRestoreRequestSpec({ snapshotName: 's', mode: 'Rollback', quiesce: 'ScaleDown' }).ok,
    ).toBe(true);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a new volume without target', { snapshotName: 's' }, 'spec.target', /required for mode/],
    [
      'a rollback with a target',
      { snapshotName: 's', mode: 'Rollback', target: { claimName: 'x' } },
      'spec.target',
      /not allowed for mode Rollback/,
    ],
    ['a missing snapshot name', { target: { claimName: 'x' } }, 'spec.snapshotName', /required/],
    [
      'quiesce on a new volume',
      { snapshotName: 's', target: { claimName: 'x' }, quiesce: 'ScaleDown' },
      'spec.quiesce',
      /only for mode Rollback/,
    ],
    [
      'an unknown quiesce',
      { snapshotName: 's', mode: 'Rollback', quiesce: 'Freeze' },
      'spec.quiesce',
      /ScaleDown/,
    ],
    [
      'an unknown mode',
      { snapshotName: 's', mode: 'Clone', target: { claimName: 'x' } },
      'spec.mode',
      /one of "NewVolume", "Rollback"/,
    ],
    [
      'a claim name that is not DNS-1123',
      { snapshotName: 's', target: { claimName: 'My_Claim' } },
      'spec.target.claimName',
      /DNS-1123/,
    ],
    [
      'a size that is not a quantity',
      { snapshotName: 's', target: { claimName: 'x', size: '10 GB' } },
      'spec.target.size',
      /quantity/,
    ],
    [
      'an unknown access mode',
      { snapshotName: 's', target: { claimName: 'x', accessModes: ['RWO'] } },
      'spec.target.accessModes[0]',
      /one of/,
    ],
    [
      'an unknown target field',
      { snapshotName: 's', target: { claimName: 'x', namespace: 'y' } },
      'spec.target.namespace',
      /unknown field/,
    ],
  ])('rejects %s, naming the field', (_name, spec, field, message) => {
    const errors = errorsOf(parseRestoreRequestSpec(spec));
    expect(errors).toContainEqual({ field, message: expect.stringMatching(message) });
  });
});

describe('request spec OpenAPI schemas', () => {
  it('carry the defaults and bounds the API server should apply', () => {
    const snapshot = snapshotRequestSpecOpenApiSchema();
    expect(snapshot).toMatchObject({
      type: 'object',
      anyOf: [{ required: ['selector'] }, { required: ['claimNames'] }],
      properties: {
        ttl: { type: 'string', default: '168h' },
        timeoutSeconds: { type: 'integer', minimum: 1, default: 600 },
        reason: { type: 'string', maxLength: 1024 },
        claimNames: { type: 'array', minItems: 1 },
      },
    });
    const restore = restoreRequestSpecOpenApiSchema();
    expect(restore).toMatchObject({
      required: ['snapshotName'],
      properties: {
        mode: { enum: ['NewVolume', 'Rollback'], default: 'NewVolume' },
        target: { type: 'object', required: ['claimName'] },
      },
    });
  });

  it('expresses "target exactly for NewVolume" as a CEL rule', () => {
    expect(restoreRequestSpecOpenApiSchema()['x-kubernetes-validations']).toEqual([
      expect.objectContaining({
        rule: "self.mode == 'Rollback' ? !has(self.target) : has(self.target)",
      }),
      expect.objectContaining({ rule: "self.mode == 'Rollback' || self.quiesce == 'None'" }),
    ]);
  });

  it('keeps the size pattern a Kubernetes quantity', () => {
    const restore = restoreRequestSpecOpenApiSchema() as {
      properties: { target: { properties: { size: { pattern: string } } } };
    };
    const pattern = new RegExp(restore.properties.target.properties.size.pattern);
    for (const ok of ['10Gi', '500M', '1.5Ti', '1e9', '100']) expect(pattern.test(ok)).toBe(true);
    for (const bad of ['10 GB', 'Gi', '-1Gi', '10gb']) expect(pattern.test(bad)).toBe(false);
  });
});
