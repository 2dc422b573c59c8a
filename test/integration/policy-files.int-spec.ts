import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyReconciler } from '#lib/engine';
import { MemoryDriver } from '#lib/storage';
import { BullMQJobSchedulers } from '../../apps/scheduler/src/bullmq-job-scheduler.adapter.js';
import {
  POLICY_FILE_MAX_BYTES,
  PolicyFileSource,
} from '../../apps/scheduler/src/policy-file.source.js';
import { createEngineHarness, type EngineHarness } from '../support/engine-harness.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

function policy(name: string, spec: string): string {
  return `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: ${name}
spec:
${spec
  .trim()
  .split('\n')
  .map((line) => `  ${line}`)
  .join('\n')}
`;
}

const VALID = `
schedule: '0 2 * * *'
timeZone: Europe/Berlin
claimNames: [db]
retention:
  keepDaily: 3
  keepWeekly: 2
`;

describe('policy files', () => {
  let redis: TestRedis;
  let harness: EngineHarness;
  let dir: string;
  let source: PolicyFileSource;
  let reconciler: PolicyReconciler;
  let schedulers: BullMQJobSchedulers;

  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-policies-'));
    harness = createEngineHarness({ redisUrl: redis.url, driver: new MemoryDriver() });
    source = new PolicyFileSource(dir, {
      defaultDriver: 'local',
      maxSnapshotsPerVolume: () => 7,
    });
    schedulers = new BullMQJobSchedulers(harness.queues);
    reconciler = new PolicyReconciler(
      harness.deps.policies,
      schedulers,
      harness.deps.audit,
      harness.deps.once,
    );
  });
  afterEach(async () => {
    await harness.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function sync() {
    return reconciler.reconcile(await source.load(), new Date());
  }

  it.each(
    [
      [
        'bad-cron.yaml',
        `schedule: 'every night'\nclaimNames: [db]\nretention: {keepLast: 2}`,
        'spec.schedule',
      ],
      [
        'bad-zone.yaml',
        `schedule: '@daily'\ntimeZone: Mars/Olympus_Mons\nclaimNames: [db]\nretention: {keepLast: 2}`,
        'spec.timeZone',
      ],
      [
        'over-cap.yaml',
        `schedule: '@daily'\nclaimNames: [db]\nretention: {keepLast: 4, keepDaily: 3}`,
        'spec.retention',
      ],
      [
        'jitter-over-interval.yaml',
        `schedule: '@hourly'\njitterSeconds: 86400\nclaimNames: [db]\nretention: {keepLast: 2}`,
        'spec.jitterSeconds',
      ],
      [
        'unknown.yaml',
        `schedule: '@daily'\nclaimNames: [db]\nretention: {keepLast: 2}\nretension: {keepLast: 9}`,
        'spec.retension',
      ],
    ].map(([file, spec, field]) => ({ file: file!, spec: spec!, field: field! })),
  )(
    'rejects $file naming the file and $field, and keeps the valid policy running',
    async ({ file, spec, field }) => {
      await writeFile(join(dir, 'good.yaml'), policy('good', VALID));
      await writeFile(join(dir, file), policy('broken', spec));
      const result = await sync();

      expect(result.applied).toEqual(['default/good']);
      expect(result.invalid).toEqual([expect.stringContaining(file)]);
      const problems = await harness.deps.policies.problems();
      expect(problems).toHaveLength(1);
      expect(problems[0]?.source).toContain(file);
      expect(problems[0]?.errors.map((e) => e.field)).toContain(field);
      const audit = await harness.deps.audit.query({ type: 'policy.invalid' });
      expect(audit.items[0]?.trigger).toContain(file);
      expect(audit.items[0]?.error).toContain(field);
      expect((await schedulers.list()).map((s) => s.key)).toEqual(['default/good']);
    },
  );

  it('rejects a file that is not YAML without touching the others', async () => {
    await writeFile(join(dir, 'good.yaml'), policy('good', VALID));
    await writeFile(join(dir, 'junk.yaml'), 'spec: [unclosed\n  - : :');
    const result = await sync();
    expect(result.invalid).toEqual([expect.stringContaining('junk.yaml')]);
    expect((await schedulers.list()).map((s) => s.key)).toEqual(['default/good']);
  });

  it('keeps the last valid version of a policy whose file turns invalid, until it is fixed', async () => {
    await writeFile(join(dir, 'good.yaml'), policy('good', VALID));
    await sync();
    await writeFile(join(dir, 'good.yaml'), policy('good', `${VALID}\nsuspendd: true`));
    const broken = await sync();
    expect(broken.removed).toEqual([]);
    expect((await harness.deps.policies.get('default/good'))?.policy.spec.timeZone).toBe(
      'Europe/Berlin',
    );
    expect((await harness.deps.policies.problems())[0]?.errors[0]?.field).toBe('spec.suspendd');

    await writeFile(join(dir, 'good.yaml'), policy('good', VALID.replace('Europe/Berlin', 'UTC')));
    await sync();
    expect(await harness.deps.policies.problems()).toEqual([]);
    const schedulersNow = await schedulers.list();
    expect(schedulersNow).toEqual([expect.objectContaining({ key: 'default/good', tz: 'UTC' })]);
  });

  it('unschedules a suspended policy and removes a deleted one, with audit events', async () => {
    await writeFile(join(dir, 'good.yaml'), policy('good', VALID));
    await writeFile(join(dir, 'other.yaml'), policy('other', VALID));
    await sync();
    expect((await schedulers.list()).map((s) => s.key).sort()).toEqual([
      'default/good',
      'default/other',
    ]);

    await writeFile(join(dir, 'good.yaml'), policy('good', `${VALID}\nsuspend: true`));
    await unlink(join(dir, 'other.yaml'));
    const result = await sync();
    expect(result.removed).toEqual(['default/other']);
    expect(await schedulers.list()).toEqual([]);
    expect(await harness.deps.policies.get('default/good')).toBeDefined();
    const removed = await harness.deps.audit.query({ type: 'policy.removed' });
    expect(removed.items.map((e) => e.policy)).toEqual(['default/other']);
  });

  it('repairs job schedulers that drifted from the policies', async () => {
    await writeFile(join(dir, 'good.yaml'), policy('good', VALID));
    await sync();
    await schedulers.remove('default/good');
    await schedulers.upsert('default/stale', '* * * * *', 'UTC', 'x');
    const result = await sync();
    expect(result.upserted).toEqual(['default/good']);
    expect((await schedulers.list()).map((s) => s.key)).toEqual(['default/good']);
  });

  it.each([
    ['the later file', 'a.yaml', 'b.yaml'],
    ['the earlier file', 'b.yaml', 'a.yaml'],
  ])(
    'reports a duplicate in %s on both files and keeps the running version',
    async (_, first, second) => {
      await writeFile(join(dir, first), policy('same', VALID));
      await sync();
      await writeFile(join(dir, second), policy('same', VALID.replace('0 2 * * *', '0 3 * * *')));
      const result = await sync();
      expect(result.applied).toEqual([]);
      const problems = await harness.deps.policies.problems();
      expect(problems.map((p) => p.source.replace(/.*\//, '')).sort()).toEqual([
        'a.yaml',
        'b.yaml',
      ]);
      for (const p of problems) expect(p.errors[0]?.field).toBe('metadata.name');
      const stored = await harness.deps.policies.get('default/same');
      expect(stored?.policy.spec.schedule).toBe('0 2 * * *');
      expect((await schedulers.list()).map((s) => s.pattern)).toEqual(['0 2 * * *']);
    },
  );

  it('reports a file it cannot read and keeps every policy of that file running', async () => {
    const unreadable = new Set<string>();
    source = new PolicyFileSource(
      dir,
      { defaultDriver: 'local', maxSnapshotsPerVolume: () => 7 },
      {
        read: async (path) => {
          if (unreadable.has(path)) {
            throw Object.assign(new Error(`EACCES: permission denied, open '${path}'`), {
              code: 'EACCES',
            });
          }
          return readFile(path, 'utf8');
        },
      },
    );
    await writeFile(join(dir, 'two.yaml'), `${policy('one', VALID)}---\n${policy('two', VALID)}`);
    await sync();
    unreadable.add(join(dir, 'two.yaml'));
    const result = await sync();
    expect(result.removed).toEqual([]);
    expect((await harness.deps.policies.list()).map((p) => p.key)).toEqual([
      'default/one',
      'default/two',
    ]);
    const problems = await harness.deps.policies.problems();
    expect(problems).toEqual([
      expect.objectContaining({
        source: expect.stringContaining('two.yaml'),
        errors: [{ field: '(file)', message: expect.stringContaining('EACCES') }],
      }),
    ]);
  });

  it('records a policy.invalid event once per episode of a problem, not once per pass', async () => {
    const broken = policy('good', `${VALID}\nsuspendd: true`);
    const invalidEvents = async () =>
      (await harness.deps.audit.query({ type: 'policy.invalid' })).items.length;
    await writeFile(join(dir, 'good.yaml'), broken);
    await sync();
    await sync();
    expect(await invalidEvents()).toBe(1);
    await writeFile(join(dir, 'good.yaml'), policy('good', VALID));
    await sync();
    await writeFile(join(dir, 'good.yaml'), broken);
    await sync();
    await sync();
    expect(await invalidEvents()).toBe(2);
  });

  it('refuses a file larger than the limit without reading it whole', async () => {
    await writeFile(join(dir, 'good.yaml'), policy('good', VALID));
    await writeFile(join(dir, 'huge.yaml'), `# ${'x'.repeat(POLICY_FILE_MAX_BYTES)}\n`);
    const result = await sync();
    expect(result.applied).toEqual(['default/good']);
    const problems = await harness.deps.policies.problems();
    expect(problems[0]?.errors[0]?.message).toContain(`more than the ${POLICY_FILE_MAX_BYTES}`);
  });
});
