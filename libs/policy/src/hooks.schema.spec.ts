import { parseBackupPolicy } from './policy.validate.js';
import { parseSnapshotRequestSpec } from './requests.schema.js';

const hook = (extra: Record<string, unknown> = {}) => ({
  name: 'freeze',
  command: ['fsfreeze', '-f', '/data'],
  ...extra,
});

describe('spec.hooks (BackupPolicy and SnapshotRequest share one schema)', () => {
  it('applies the defaults: timeoutSeconds 30, onError Fail', () => {
    const result = parseSnapshotRequestSpec({ claimNames: ['db'], hooks: { pre: [hook()] } });
    expect(result.ok && result.value.hooks?.pre).toEqual([
      { name: 'freeze', command: ['fsfreeze', '-f', '/data'], timeoutSeconds: 30, onError: 'Fail' },
    ]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an empty command', { pre: [hook({ command: [] })] }, 'spec.hooks.pre[0].command'],
    ['an unknown onError', { post: [hook({ onError: 'Ignore' })] }, 'spec.hooks.post[0].onError'],
    ['a zero timeout', { pre: [hook({ timeoutSeconds: 0 })] }, 'spec.hooks.pre[0].timeoutSeconds'],
    ['a bad name', { pre: [hook({ name: 'Freeze Now' })] }, 'spec.hooks.pre[0].name'],
    ['a duplicate name', { pre: [hook(), hook()] }, 'spec.hooks.pre[1].name'],
    ['an unknown field', { pre: [hook({ shell: true })] }, 'spec.hooks.pre[0]'],
    ['an unknown list', { during: [] }, 'spec.hooks'],
  ])('refuses %s, naming the field', (_title, hooks, field) => {
    const result = parseSnapshotRequestSpec({ claimNames: ['db'], hooks });
    expect(result.ok).toBe(false);
    const fields = result.ok ? [] : result.errors.map((e) => e.field);
    expect(fields.some((f) => f.startsWith(field))).toBe(true);
  });

  it('is the same on a BackupPolicy', () => {
    const policy = {
      apiVersion: 'snapwarden.io/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name: 'p' },
      spec: {
        schedule: '@daily',
        claimNames: ['db'],
        retention: { keepLast: 3 },
        hooks: { pre: [hook({ onError: 'Sometimes' })] },
      },
    };
    const result = parseBackupPolicy(policy, {
      defaultDriver: 'local',
      maxSnapshotsPerVolume: () => undefined,
    });
    expect(JSON.stringify(result)).toContain('spec.hooks.pre[0].onError');
  });
});
