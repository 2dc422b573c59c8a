import fc from 'fast-check';
import { MESSAGE_MAX } from './field-errors.js';
import { parseBackupPolicy } from './policy.validate.js';

const ctx = { defaultDriver: 'local', maxSnapshotsPerVolume: () => 50 };

const key = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'app', 'a.b/c', ''),
  fc.string({ maxLength: 70 }),
);

describe('label maps and selectors, property-based', () => {
  it('never drop a key: a parsed selector holds exactly the keys the document had', () => {
    fc.assert(
      fc.property(fc.dictionary(key, fc.string({ maxLength: 70 }), { maxKeys: 4 }), (labels) => {
        // Through JSON text, as the API and the informer receive it: __proto__ is an own key.
        const text = `{"apiVersion":"snapwarden.io/v1alpha1","kind":"BackupPolicy","metadata":{"name":"p"},"spec":{"schedule":"@daily","retention":{"keepLast":2},"selector":{"matchLabels":${JSON.stringify(labels)}}}}`;
        const document = JSON.parse(text) as unknown;
        const input = JSON.parse(JSON.stringify(labels)) as Record<string, string>;
        const result = parseBackupPolicy(document, ctx);
        if (!result.ok) {
          for (const e of result.errors) expect(e.message.length).toBeLessThan(MESSAGE_MAX + 30);
          return;
        }
        const parsed = result.policy.spec.selector?.matchLabels ?? {};
        expect(Object.keys(parsed).sort()).toEqual(Object.keys(input).sort());
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a document with an own __proto__ key wherever it is', () => {
    fc.assert(
      fc.property(fc.constantFrom('spec', 'spec.selector', 'spec.retention', 'metadata'), (at) => {
        const doc: Record<string, unknown> = {
          apiVersion: 'snapwarden.io/v1alpha1',
          kind: 'BackupPolicy',
          metadata: { name: 'p' },
          spec: { schedule: '@daily', retention: { keepLast: 2 }, selector: {} },
        };
        let target = doc;
        for (const part of at.split('.')) target = target[part] as Record<string, unknown>;
        Object.defineProperty(target, '__proto__', { value: {}, enumerable: true });
        const result = parseBackupPolicy(doc, ctx);
        expect(result.ok).toBe(false);
      }),
    );
  });
});
