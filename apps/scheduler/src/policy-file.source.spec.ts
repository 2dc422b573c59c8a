import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { MESSAGE_MAX } from '#lib/policy';
import { PolicyFileSource } from './policy-file.source.js';

const context = { defaultDriver: 'local', maxSnapshotsPerVolume: () => 50 };

function policy(name: string, extra = ''): string {
  return `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata: {name: ${name}}
spec:
  schedule: '@daily'
  claimNames: [db]
  retention: {keepLast: 2}
${extra}`;
}

/** File contents an operator or an attacker might leave in the folder. */
const content = fc.oneof(
  fc.constantFrom('a', 'b', 'c').map((name) => policy(name)),
  fc.constantFrom('a', 'b').map((name) => `${policy(name)}---\n${policy('d')}`),
  fc.constant(''),
  fc.constant('# only a comment\n'),
  fc.constant('---\n---\n'),
  fc.constant(
    'a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n',
  ),
  fc.constant(policy('p', '  selector: {matchLabels: {__proto__: x}}\n')),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  fc
    .string({ maxLength: 40 })
    .map((s) => policy('q', `  snapshotLabels: {app: ${JSON.stringify(s.repeat(50))}}\n`)),
);

describe('PolicyFileSource on arbitrary folders', () => {
  it('never throws, and accounts for every file as a policy or a problem with bounded messages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), content), {
          minLength: 1,
          maxLength: 5,
          selector: ([name]) => name,
        }),
        async (files) => {
          const dir = await mkdtemp(join(tmpdir(), 'snapwarden-policy-prop-'));
          try {
            for (const [name, text] of files) await writeFile(join(dir, `${name}.yaml`), text);
            const desired = await new PolicyFileSource(dir, context).load();
            const sources = [
              ...desired.policies.map((p) => p.source),
              ...desired.problems.map((p) => p.source),
            ].map((s) => s.replace(/#\d+$/, ''));
            for (const [name] of files) {
              expect(sources.some((s) => s.endsWith(`/${name}.yaml`))).toBe(true);
            }
            for (const problem of desired.problems) {
              for (const error of problem.errors) {
                expect(error.field.length).toBeLessThanOrEqual(MESSAGE_MAX + 30);
                expect(error.message.length).toBeLessThanOrEqual(MESSAGE_MAX + 30);
              }
            }
            const keys = desired.policies.map(
              (p) => `${p.policy.metadata.namespace}/${p.policy.metadata.name}`,
            );
            expect(new Set(keys).size).toBe(keys.length);
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('PolicyFileSource on a resync', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-stamps-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('does not read a file that stood still again, and reads it once it is rewritten', async () => {
    const reads: string[] = [];
    const source = new PolicyFileSource(dir, context, {
      read: (path) => {
        reads.push(path);
        return readFile(path, 'utf8');
      },
      settledMs: 0,
    });
    const path = join(dir, 'a.yaml');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await writeFile(path, policy('a'));
    await utimes(path, hourAgo, hourAgo);
    await source.load();
    await source.load();
    expect(reads).toHaveLength(1);

    // Same size and the old mtime put back: the ctime still tells the write.
    await new Promise((r) => setTimeout(r, 20)); // a new ctime even on a coarse clock
    await writeFile(path, policy('b'));
    await utimes(path, hourAgo, hourAgo);
    const desired = await source.load();
    expect(reads).toHaveLength(2);
    expect(desired.policies.map((p) => p.policy.metadata.name)).toEqual(['b']);
  });

  it('reads a file written just now on every pass, until it has stood still', async () => {
    let reads = 0;
    const source = new PolicyFileSource(dir, context, {
      read: (path) => {
        reads++;
        return readFile(path, 'utf8');
      },
    });
    await writeFile(join(dir, 'a.yaml'), policy('a'));
    await source.load();
    await source.load();
    expect(reads).toBe(2);
  });
});
