import { KubeClient, KubeWorkloads, execInPod, type PodExecResult } from '#lib/kube';
import { type KubeSim, eventually, simKubeConfig, startKubeSim } from '../k8s-sim/index.js';

const NS = 'shop';

/** A Deployment whose pods mount `claim`, and a StatefulSet with a claim template. */
function seedWorkloads(sim: KubeSim): void {
  sim.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  sim.store.seed({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{ name: 'app' }, { name: 'sidecar' }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'web-data' } }],
        },
      },
    },
  });
  sim.store.seed({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'pg' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'pgdata' } }],
    },
  });
}

describe('pods, owners, scale and pods/exec against the simulator (client-node over HTTP/WebSocket)', () => {
  let sim: KubeSim;
  let kube: KubeClient;
  let workloads: KubeWorkloads;

  beforeAll(async () => {
    sim = await startKubeSim({ podStopDelayMs: 20 });
    seedWorkloads(sim);
    kube = new KubeClient(simKubeConfig(sim), { retry: { baseDelayMs: 10, maxDelayMs: 50 } });
    workloads = new KubeWorkloads(kube);
    await eventually(async () => ((await workloads.listPods(NS)).length === 3 ? true : undefined));
  });

  afterAll(async () => {
    await sim.stop();
  });

  afterEach(() => sim.exec.reset());

  it('finds the Deployment (through its ReplicaSet) and the StatefulSet owning the pods', async () => {
    const pods = await workloads.listPods(NS);
    const byName = Object.fromEntries(pods.map((p) => [p.metadata.name, p]));
    expect(Object.keys(byName).sort()).toEqual(['db-0', 'web-sim-0', 'web-sim-1']);
    expect(byName['web-sim-0']?.status?.phase).toBe('Running');
    expect(byName['db-0']?.spec?.volumes).toEqual([
      { name: 'pgdata', persistentVolumeClaim: { claimName: 'pgdata-db-0' } },
    ]);
    await expect(workloads.ownerOf(byName['web-sim-1']!)).resolves.toEqual({
      kind: 'Deployment',
      namespace: NS,
      name: 'web',
    });
    await expect(workloads.ownerOf(byName['db-0']!)).resolves.toEqual({
      kind: 'StatefulSet',
      namespace: NS,
      name: 'db',
    });
  });

  it('scales through the scale subresource: pods go and come back', async () => {
    const web = { kind: 'Deployment' as const, namespace: NS, name: 'web' };
    await expect(workloads.replicas(web)).resolves.toBe(2);
    await workloads.annotate(web, { 'snapwarden.io/quiesced-replicas': '2' });
    await workloads.scale(web, 0);
    await eventually(async () =>
      (await workloads.listPods(NS)).some((p) => p.metadata.name.startsWith('web'))
        ? undefined
        : true,
    );
    expect(sim.requestLog.count('patch', 'deployments/scale')).toBe(1);
    const annotated = await workloads.annotated(NS, 'snapwarden.io/quiesced-replicas');
    expect(annotated.map((w) => w.name)).toEqual(['web']);
    await workloads.scale(web, 2);
    await workloads.annotate(web, { 'snapwarden.io/quiesced-replicas': null });
    await eventually(async () =>
      (await workloads.listPods(NS)).filter((p) => p.metadata.name.startsWith('web')).length === 2
        ? true
        : undefined,
    );
    expect((await workloads.get(web))?.metadata.annotations ?? {}).toEqual({});
  });

  async function exec(
    pod: string,
    command: string[],
    container?: string,
    timeoutMs = 5_000,
  ): Promise<PodExecResult & { output: string }> {
    let output = '';
    const result = await execInPod(kube, {
      namespace: NS,
      pod,
      container,
      command,
      timeoutMs,
      onOutput: (chunk) => {
        output += chunk.toString();
      },
    });
    return { ...result, output };
  }

  it('runs a command: stdout and stderr stream, the exit code comes from the status channel', async () => {
    sim.exec.respond((call) =>
      call.command[0] === 'pg_ctl'
        ? { stdout: 'checkpoint\n', stderr: 'warn\n', exitCode: 0 }
        : undefined,
    );
    sim.exec.respond((call) =>
      call.command[0] === 'false' ? { exitCode: 3, stderr: 'nope' } : undefined,
    );
    await expect(exec('db-0', ['pg_ctl', 'checkpoint'])).resolves.toEqual({
      exitCode: 0,
      output: 'checkpoint\nwarn\n',
    });
    await expect(exec('db-0', ['false'])).resolves.toEqual({ exitCode: 3, output: 'nope' });
    expect(sim.exec.calls.map((c) => [c.pod, c.container, c.command])).toEqual([
      ['db-0', 'pg', ['pg_ctl', 'checkpoint']],
      ['db-0', 'pg', ['false']],
    ]);
  });

  it('a delayed exit status arrives after its delay, or the client gives up at its timeout', async () => {
    sim.exec.respond(() => ({ delayMs: 150, stdout: 'working', exitCode: 2 }));
    await expect(exec('db-0', ['slow'], undefined, 5_000)).resolves.toEqual({
      exitCode: 2,
      output: 'working',
    });
    sim.exec.respond(() => ({ delayMs: 10_000, stdout: 'working' }));
    await expect(exec('db-0', ['slower'], undefined, 100)).resolves.toMatchObject({
      timedOut: true,
      output: 'working',
    });
  });

  it('closes a hanging exec at its timeout', async () => {
    sim.exec.respond(() => ({ hang: true, stdout: 'freezing' }));
    const result = await exec('db-0', ['sleep', 'forever'], undefined, 300);
    expect(result).toMatchObject({ timedOut: true, output: 'freezing' });
    await eventually(() => Promise.resolve(sim.exec.openSessions === 0 ? true : undefined));
  });

  it('refuses a missing container, an unnamed container of a two-container pod, a missing pod', async () => {
    const pod = (await workloads.listPods(NS)).find((p) => p.metadata.name.startsWith('web'));
    const web = pod?.metadata.name ?? '';
    await expect(exec(web, ['true'], 'nginx')).resolves.toMatchObject({
      error: expect.stringMatching(/400/),
    });
    await expect(exec(web, ['true'])).resolves.toMatchObject({
      error: expect.stringMatching(/400/),
    });
    await expect(exec('ghost', ['true'])).resolves.toMatchObject({
      error: expect.stringMatching(/404/),
    });
    await expect(exec(web, ['true'], 'sidecar')).resolves.toEqual({ exitCode: 0, output: '' });
    expect(sim.requestLog.count('create', 'pods/exec')).toBeGreaterThanOrEqual(4);
  });
});
