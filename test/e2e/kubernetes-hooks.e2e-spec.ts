import type { ExecResult } from '../k8s-sim/index.js';
import { eventually, getJson, type AppProcess } from '../support/app-process.js';
import { startKubeCluster, untilRuns, type KubeCluster } from '../support/kube-cluster.js';
import {
  auditEvents,
  postJson,
  settled,
  type SnapshotRequestView,
} from '../support/kube-requests.js';
import { deployment } from '../support/kube-workloads.js';

const TOKEN = 'e2e-kube-hooks-token-0123456789';
const HOOK = '/hooks/run';

interface HookEvent {
  type: string;
  reason?: string;
  snapshot?: string;
  error?: string;
  attributes?: Record<string, string | number | boolean>;
}

/** A hook whose simulated result the suite decides by its label (`command[1]`). */
function hook(label: string, extra: Record<string, unknown> = {}) {
  return { name: label, command: [HOOK, label], ...extra };
}

describe('kubernetes mode: pre/post hooks over pods/exec', () => {
  let cluster: KubeCluster;
  let app: AppProcess;
  let ns: string;
  const results = new Map<string, ExecResult>();

  beforeAll(async () => {
    cluster = await startKubeCluster();
    ns = cluster.namespace;
    await cluster.boundClaims(['pg-data', 'sched-data', 'free-data'], { app: 'hooks' });
    cluster.sim.store.seed(deployment(ns, 'pg', { claim: 'pg-data', container: 'db' }));
    cluster.sim.store.seed(deployment(ns, 'sched', { claim: 'sched-data', container: 'db' }));
    cluster.sim.exec.respond((call) =>
      call.command[0] === HOOK ? results.get(call.command[1] ?? '') : undefined,
    );
    app = await cluster.startApp({ SNAPWARDEN_API_TOKEN: TOKEN });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  /** The hook labels and snapshot creations the simulator saw since `mark`, in order. */
  function sequence(mark: number): string[] {
    return cluster.sim.requestLog.since(mark).flatMap((r) => {
      if (r.resource === 'pods/exec' && r.status === 101) {
        return [new URLSearchParams(r.query).getAll('command')[1] ?? '?'];
      }
      return r.verb === 'create' && r.resource === 'volumesnapshots' ? ['snapshot'] : [];
    });
  }

  async function request(name: string, claim: string, hooks: Record<string, unknown>) {
    const posted = await postJson(
      app,
      '/api/v1/snapshot-requests',
      { metadata: { namespace: ns, name }, spec: { claimNames: [claim], hooks } },
      TOKEN,
    );
    expect(posted.status).toBe(201);
    return settled<SnapshotRequestView>(app, `/api/v1/snapshot-requests/${ns}/${name}`, 30_000);
  }

  async function hookEvents(snapshot: string): Promise<HookEvent[]> {
    const events = (await auditEvents(app, { namespace: ns })) as HookEvent[];
    return events.filter((e) => e.type.startsWith('hook.') && e.snapshot === snapshot);
  }

  it('runs pre and post hooks around an on-demand snapshot, in order, with the output kept', async () => {
    results.set('od-pre', { stdout: 'CHECKPOINT\n' });
    const mark = cluster.sim.requestLog.mark();
    const done = await request('od-order', 'pg-data', {
      pre: [hook('od-pre')],
      post: [hook('od-post')],
    });
    expect(done.phase).toBe('Succeeded');
    expect(sequence(mark)).toEqual(['od-pre', 'snapshot', 'od-post']);
    const events = await hookEvents(done.snapshots[0]?.snapshotName ?? '');
    expect(events.find((e) => e.type === 'hook.succeeded')?.attributes?.output).toBe('CHECKPOINT');
  });

  it('a failing pre hook with onError Fail: no snapshot, the hook named in the error, post still runs', async () => {
    results.set('fail-pre', { exitCode: 3, stderr: 'database is locked' });
    const mark = cluster.sim.requestLog.mark();
    const done = await request('od-fail', 'pg-data', {
      pre: [hook('fail-pre')],
      post: [hook('fail-post')],
    });
    expect(done.phase).toBe('Failed');
    expect(done.message).toContain(
      'pre hook "fail-pre" failed in pg-sim-0: exit code 3: database is locked',
    );
    expect(sequence(mark)).toEqual(['fail-pre', 'fail-post']);
    expect(cluster.snapshotsOf('pg-data').map((s) => s.metadata.name)).not.toContain(
      done.snapshots[0]?.snapshotName,
    );
  });

  it('a failing pre hook with onError Continue: the snapshot is taken and the failure recorded', async () => {
    results.set('soft-pre', { exitCode: 1, stdout: 'no replica to pause' });
    const done = await request('od-continue', 'pg-data', {
      pre: [hook('soft-pre', { onError: 'Continue' })],
    });
    expect(done.phase).toBe('Succeeded');
    const events = await hookEvents(done.snapshots[0]?.snapshotName ?? '');
    const failed = events.find((e) => e.type === 'hook.failed');
    expect(failed?.attributes).toMatchObject({ exitCode: 1, onError: 'Continue' });
    expect(failed?.error).toContain('no replica to pause');
  });

  it('a hanging pre hook is closed at its timeout and the post hook still runs', async () => {
    results.set('hang-pre', { hang: true, stdout: 'freezing…' });
    const mark = cluster.sim.requestLog.mark();
    const done = await request('od-hang', 'pg-data', {
      pre: [hook('hang-pre', { timeoutSeconds: 1 })],
      post: [hook('hang-post')],
    });
    expect(done.phase).toBe('Failed');
    expect(done.message).toMatch(/pre hook "hang-pre" failed in pg-sim-0: timed out after 1s/);
    expect(sequence(mark)).toEqual(['hang-pre', 'hang-post']);
    await eventually(
      () => Promise.resolve(cluster.sim.exec.openSessions === 0 ? true : undefined),
      5_000,
      'the hung exec session closed',
    );
  });

  it('podSelector picks the pods; a claim no pod mounts skips the hook, loudly', async () => {
    const mark = cluster.sim.requestLog.mark();
    const selected = await request('od-selector', 'pg-data', {
      pre: [hook('elsewhere', { podSelector: { matchLabels: { app: 'sched' } } })],
    });
    expect(selected.phase).toBe('Succeeded');
    const pods = cluster.sim.requestLog
      .since(mark)
      .filter((r) => r.resource === 'pods/exec')
      .map((r) => r.name);
    expect(pods).toEqual(['sched-sim-0']);
    const free = await request('od-free', 'free-data', { pre: [hook('nobody')] });
    expect(free.phase).toBe('Succeeded');
    const events = await hookEvents(free.snapshots[0]?.snapshotName ?? '');
    expect(events).toEqual([
      expect.objectContaining({
        type: 'hook.skipped',
        reason: 'no running pod mounts claim free-data',
      }),
    ]);
  });

  it('a container the pod lacks fails the hook by name', async () => {
    const done = await request('od-container', 'pg-data', {
      pre: [hook('where', { container: 'postgres' })],
    });
    expect(done.phase).toBe('Failed');
    expect(done.message).toContain('container postgres not found in pod pg-sim-0 (has db)');
  });

  it('a worker killed between pre and post hook: the post hook runs when the job is picked up again', async () => {
    results.set('crash-post', { hang: true });
    const posted = await postJson(
      app,
      '/api/v1/snapshot-requests',
      {
        metadata: { namespace: ns, name: 'od-crash' },
        spec: {
          claimNames: ['pg-data'],
          hooks: { pre: [hook('crash-pre')], post: [hook('crash-post', { timeoutSeconds: 120 })] },
        },
      },
      TOKEN,
    );
    expect(posted.status).toBe(201);
    await eventually(
      () =>
        Promise.resolve(
          cluster.sim.exec.calls.some((c) => c.command[1] === 'crash-post') ? true : undefined,
        ),
      20_000,
      'the post hook started',
    );
    await app.kill();
    results.set('crash-post', {});
    app = await cluster.startApp({ SNAPWARDEN_API_TOKEN: TOKEN });
    const done = await settled<SnapshotRequestView>(
      app,
      `/api/v1/snapshot-requests/${ns}/od-crash`,
      40_000,
    );
    expect(done.phase).toBe('Succeeded');
    const posts = cluster.sim.exec.calls.filter((c) => c.command[1] === 'crash-post');
    expect(posts).toHaveLength(2);
    const events = await hookEvents(done.snapshots[0]?.snapshotName ?? '');
    expect(events.filter((e) => e.type === 'hook.started').map((e) => e.attributes?.hook)).toEqual([
      'crash-pre',
      'crash-post',
      'crash-post',
    ]);
    expect(events.at(-1)).toMatchObject({
      type: 'hook.succeeded',
      attributes: expect.objectContaining({ hook: 'crash-post', recovered: true }),
    });
    expect(
      await getJson<{ phase: string }>(app, `/api/v1/snapshot-requests/${ns}/od-crash`),
    ).toMatchObject({
      phase: 'Succeeded',
    });
  }, 90_000);

  // Last: the schedule keeps firing until the suspension reaches the app.
  it('runs pre and post hooks around each scheduled snapshot', async () => {
    const mark = cluster.sim.requestLog.mark();
    cluster.createPolicy('sched', {
      schedule: '*/2 * * * * *',
      claimNames: ['sched-data'],
      retention: { keepLast: 3 },
      hooks: { pre: [hook('sched-pre')], post: [hook('sched-post')] },
    });
    const [run] = await untilRuns(app, `${ns}/sched`, 'succeeded', 1, 30_000);
    const policy = cluster.sim.store.read('snapwarden.io/v1alpha1', 'BackupPolicy', 'sched', ns);
    if (policy) cluster.sim.store.mergeInto(policy, { spec: { suspend: true } });
    expect(sequence(mark).slice(0, 3)).toEqual(['sched-pre', 'snapshot', 'sched-post']);
    const snapshot = run?.volumes[0]?.snapshot ?? '';
    const events = await hookEvents(snapshot);
    expect(events.map((e) => `${e.type} ${String(e.attributes?.hook)}`)).toEqual([
      'hook.started sched-pre',
      'hook.succeeded sched-pre',
      'hook.started sched-post',
      'hook.succeeded sched-post',
    ]);
    expect(events[1]?.attributes).toMatchObject({
      exitCode: 0,
      phase: 'pre',
      target: 'sched-sim-0',
    });
  }, 45_000);
});
