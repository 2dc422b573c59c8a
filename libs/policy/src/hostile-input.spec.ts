import { parseDocument } from 'yaml';
import { boundText, formatFieldErrors, MESSAGE_MAX, QUOTE_MAX } from './field-errors.js';
import { parseBackupPolicy, type PolicyContext } from './policy.validate.js';
import { parseSnapshotRequestSpec } from './requests.schema.js';

const ctx: PolicyContext = { defaultDriver: 'local', maxSnapshotsPerVolume: () => 50 };

function policyYaml(spec: string): unknown {
  return parseDocument(
    `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata: {name: nightly}
spec:
  schedule: '@daily'
  retention: {keepLast: 2}
${spec}`,
  ).toJS();
}

function fieldsOf(result: { ok: boolean; errors?: { field: string }[] }): string[] {
  return (result.errors ?? []).map((e) => e.field);
}

describe('hostile policy and request documents', () => {
  it.each([
    ['YAML', policyYaml('  selector: {matchLabels: {__proto__: x}}')],
    ['YAML (nested map)', policyYaml('  selector: {matchLabels: {__proto__: {app: x}}}')],
    [
      'JSON',
      JSON.parse(
        '{"apiVersion":"snapwarden.io/v1alpha1","kind":"BackupPolicy","metadata":{"name":"n"},' +
          '"spec":{"schedule":"@daily","retention":{"keepLast":2},"selector":{"matchLabels":{"__proto__":"x"}}}}',
      ) as unknown,
    ],
  ])('refuses a __proto__ label key from %s instead of selecting every volume', (_, doc) => {
    const result = parseBackupPolicy(doc, ctx);
    expect(result.ok).toBe(false);
    expect(fieldsOf(result as { ok: boolean; errors: { field: string }[] })).toEqual([
      'spec.selector.matchLabels.__proto__',
    ]);
  });

  it('refuses a __proto__ key in a request spec (API and custom resource)', () => {
    const spec = JSON.parse('{"selector":{"matchLabels":{"__proto__":"x"}}}') as unknown;
    const result = parseSnapshotRequestSpec(spec);
    expect(result.ok).toBe(false);
    expect(fieldsOf(result as { ok: boolean; errors: { field: string }[] })).toEqual([
      'spec.selector.matchLabels.__proto__',
    ]);
  });

  it.each([
    ['  selector: {matchLabels: {"Bad Key": x}}', 'spec.selector.matchLabels[Bad Key]'],
    ['  selector: {matchLabels: {app: "no spaces"}}', 'spec.selector.matchLabels.app'],
    ['  selector: {matchLabels: {"-app": x}}', 'spec.selector.matchLabels[-app]'],
    [
      '  selector: {matchExpressions: [{key: app, operator: In, values: ["a b"]}]}',
      'spec.selector.matchExpressions[0].values[0]',
    ],
    [
      '  selector: {matchExpressions: [{key: "x/y/z", operator: Exists}]}',
      'spec.selector.matchExpressions[0].key',
    ],
    ['  claimNames: [db]\n  snapshotLabels: {"UPPER_/x": y}', 'spec.snapshotLabels[UPPER_/x]'],
    ['  claimNames: ["../vol-a"]', 'spec.claimNames[0]'],
    ['  claimNames: [db, UPPER]', 'spec.claimNames[1]'],
  ])('validates label keys, values and claim names: %s', (spec, field) => {
    const result = parseBackupPolicy(policyYaml(spec), ctx);
    expect(fieldsOf(result as { ok: boolean; errors: { field: string }[] })).toContain(field);
  });

  it('quotes at most a short prefix of a huge value, in messages and field paths', () => {
    const huge = 'v'.repeat(5_000_000);
    const doc = policyYaml(`  claimNames: [db]\n  snapshotLabels: {app: ${huge}, ${huge}: x}`);
    const result = parseBackupPolicy(doc, ctx);
    expect(result.ok).toBe(false);
    const text = formatFieldErrors(
      (result as { errors: { field: string; message: string }[] }).errors,
    );
    expect(text).toContain('(5000000 characters)');
    expect(text.length).toBeLessThan(4 * (MESSAGE_MAX + QUOTE_MAX));
  });

  it('bounds any text to a prefix and its length', () => {
    expect(boundText('short')).toBe('short');
    expect(boundText('x'.repeat(10), 4)).toBe('xxxx… (10 characters)');
  });
});
