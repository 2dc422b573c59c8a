import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunRecord } from '#lib/audit';
import type { PolicyCondition } from '#lib/engine';
import { eventually, getJson, startApp, type AppProcess } from '../support/app-process.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { makeVolume } from '../support/volumes.js';

const TICK_MS = 2_000;
const policy = (name: string, select: string) => `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata: { name: ${name}, namespace: default }
spec:
  schedule: '*/2 * * * * *'
  ${select}
  retention: { keepLast: 2 }
`;

interface PolicyView {
  key: string;
  conditions: PolicyCondition[];
}

/**
 * Local mode, the whole app: a named claim that does not exist fails its volume and the run
 * is partial; a policy selecting nothing carries a warning condition and a metric; and after
 * the app was down, every tick in between has a run (missed), none is silently lost.
 */
describe('local mode: honest results and every tick accounted for', () => {
  let dir: string;
  let redis: TestRedis;
  let app: AppProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-honest-'));
    await makeVolume(join(dir, 'data'), 'files', { app: 'shop' }, 4096);
    await mkdir(join(dir, 'policies'));
    await writeFile(
      join(dir, 'policies', 'ghosty.yaml'),
      policy('ghosty', 'claimNames: [files, ghost]'),
    );
    await writeFile(
      join(dir, 'policies', 'empty.yaml'),
      policy('empty', 'selector: { matchLabels: { app: nobody } }'),
    );
    redis = await startTestRedis();
  }, 30_000);

  afterAll(async () => {
    await app?.kill();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const start = () =>
    startApp({
      REDIS_URL: redis.url,
      SNAPWARDEN_QUEUE_PREFIX: 'sw-honest',
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
    });

  async function runs(key: string): Promise<RunRecord[]> {
    const page = await getJson<{ items: RunRecord[] }>(
      app!,
      `/api/v1/runs?policy=${encodeURIComponent(key)}&limit=500`,
    );
    return page.items.sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt));
  }

  it('fails a missing claim and warns about a policy that selects nothing', async () => {
    app = await start();
    const run = await eventually(
      // A tick that fell between the policy's load and its first firing is a missed run (a slow
      // start-up on a loaded machine); the second test covers those. This one needs a run that ran.
      async () =>
        (await runs('default/ghosty')).find((r) => r.state !== 'running' && r.state !== 'missed'),
      30_000,
      'a finished run of default/ghosty',
    );
    expect(run.state).toBe('partial');
    expect(run.volumes.find((v) => v.volume === 'ghost')).toMatchObject({
      state: 'failed',
      error: 'claim not found',
    });
    const { items } = await getJson<{ items: PolicyView[] }>(app, '/api/v1/policies');
    const condition = (key: string) => items.find((p) => p.key === key)?.conditions[0];
    expect(condition('default/empty')).toMatchObject({
      type: 'VolumesSelected',
      status: 'False',
      reason: 'NoVolumesSelected',
    });
    expect(condition('default/ghosty')).toMatchObject({
      status: 'False',
      reason: 'ClaimsNotFound',
    });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('snapwarden_policy_selected_volumes{policy="default/empty"} 0');
    expect(metrics).toContain('snapwarden_policy_missing_claims{policy="default/ghosty"} 1');
  }, 60_000);

  it('records every tick of a downtime as missed: the history has no gap', async () => {
    await eventually(
      async () => ((await runs('default/ghosty')).length >= 2 ? true : undefined),
      30_000,
      'two runs before the downtime',
    );
    await app!.kill();
    // The app stays down for three ticks (the restart adds more), at least the two expected below.
    const downUntil = Date.now() + 3 * TICK_MS;
    await new Promise((r) => setTimeout(r, downUntil - Date.now()));
    const restartedAt = Date.now();
    app = await start();
    const history = await eventually(
      async () => {
        const all = await runs('default/ghosty');
        const done = all.some(
          (r) => Date.parse(r.scheduledAt) > restartedAt + TICK_MS && r.state !== 'running',
        );
        return done ? all : undefined;
      },
      30_000,
      'a run after the restart',
    );
    const times = history.map((r) => Date.parse(r.scheduledAt));
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
    expect(gaps.filter((gap) => gap !== TICK_MS)).toEqual([]);
    const missed = history.filter((r) => r.state === 'missed');
    expect(missed.length).toBeGreaterThanOrEqual(2);
    for (const run of missed) expect(run.message).toMatch(/never fired|late/);
  }, 90_000);
});
