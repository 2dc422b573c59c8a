import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startKubeSim, type KubeObject, type KubeSim } from '../k8s-sim/index.js';
import { runCli, type CliResult } from '../support/cli-process.js';
import {
  EVEREST,
  SNAPSHOT_API,
  startKubeCluster,
  type KubeCluster,
} from '../support/kube-cluster.js';
import { REPO_ROOT } from './kubectl-runner.js';
import {
  hookManifests,
  HOOKS,
  jobPod,
  onlyOf,
  renderHook,
  type HookManifest,
} from './pre-upgrade-hook-render.js';

const REQUEST_API = 'snapwarden.io/v1alpha1';
const RELEASE = { release: 'shop', namespace: 'shop', chartVersion: '2.4.0' };

interface SnapshotRequestObject extends KubeObject {
  spec: { selector?: unknown; reason?: string; timeoutSeconds?: number };
  status?: {
    phase?: string;
    snapshots?: { claim: string; snapshotName?: string; readyToUse: boolean; error?: string }[];
  };
}

/**
 * The hook Job's rendered command as CLI arguments (without `node dist/apps/cli/src/main.js`),
 * plus `--kubeconfig` in place of the pod's in-cluster ServiceAccount credentials.
 */
function hookArgs(docs: HookManifest[], kubeconfigPath: string): string[] {
  const command = jobPod(docs).containers[0]?.command ?? [];
  expect(command.slice(0, 2)).toEqual(['node', 'dist/apps/cli/src/main.js']);
  return [...command.slice(2), '--kubeconfig', kubeconfigPath];
}

/** `group/resource: verb` for each verb the hook's Role grants. */
function granted(docs: HookManifest[]): string[] {
  return (onlyOf(docs, 'Role').rules ?? [])
    .flatMap((rule) =>
      (rule.apiGroups ?? []).flatMap((group) =>
        (rule.resources ?? []).flatMap((resource) =>
          (rule.verbs ?? []).map((verb) => `${group}/${resource}: ${verb}`),
        ),
      ),
    )
    .sort();
}

function requestsOf(sim: KubeSim, namespace: string): SnapshotRequestObject[] {
  return sim.store.items(REQUEST_API, 'SnapshotRequest', namespace) as SnapshotRequestObject[];
}

describe('the kube hook command against the simulator: the Role covers what the CLI calls', () => {
  let sim: KubeSim;
  let dir: string;
  let kubeconfigPath: string;
  let docs: HookManifest[];

  beforeAll(async () => {
    sim = await startKubeSim({ crdDirs: [join(REPO_ROOT, 'deploy', 'crds')] });
    sim.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-hook-cli-'));
    kubeconfigPath = join(dir, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfigPath);
    docs = hookManifests(await renderHook(HOOKS.kube, RELEASE));
  });
  afterAll(async () => {
    await sim?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs the hook command; once its request exists, `answer` writes the scheduler's status. */
  async function runHook(
    answer: (request: SnapshotRequestObject) => unknown,
  ): Promise<{ result: CliResult; request: SnapshotRequestObject }> {
    const before = new Set(requestsOf(sim, 'shop').map((r) => r.metadata.name));
    const running = runCli(hookArgs(docs, kubeconfigPath));
    const request = await eventually(
      () => requestsOf(sim, 'shop').find((r) => !before.has(r.metadata.name)),
      10_000,
      'the hook SnapshotRequest',
    );
    sim.store.writeStatus(request, answer(request));
    return { result: await running, request };
  }

  it('creates the SnapshotRequest the hook describes and exits 0 once it succeeded', async () => {
    const mark = sim.requestLog.mark();
    const { result, request } = await runHook(() => ({
      phase: 'Succeeded',
      snapshots: [
        { claim: 'data-0', snapshotName: 'x-data-0', readyToUse: true, state: 'succeeded' },
      ],
      message: '1 of 1 snapshots ready',
    }));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(request.spec).toMatchObject({
      selector: { matchLabels: { 'app.kubernetes.io/instance': 'shop' } },
      reason: 'pre-upgrade 2.4.0',
      timeoutSeconds: 600,
    });
    // Every Kubernetes resource request the CLI made is one the Role grants, and the Role
    // grants nothing the CLI did not use (discovery URLs carry no resource and need no Role).
    const made = sim.requestLog
      .since(mark)
      .filter((r) => r.resource !== undefined)
      .map((r) => {
        expect([r.resource, r.namespace]).toEqual([r.resource, 'shop']);
        return `${r.group ?? ''}/${r.resource ?? ''}: ${r.verb}`;
      });
    expect([...new Set(made)].sort()).toEqual(granted(docs));
  });

  it('exits 1 naming the claim when the request failed, so the Job and the upgrade fail', async () => {
    const { result } = await runHook(() => ({
      phase: 'Failed',
      snapshots: [
        { claim: 'data-0', snapshotName: 'x-data-0', readyToUse: true, state: 'succeeded' },
        {
          claim: 'data-1',
          readyToUse: false,
          state: 'failed',
          error: 'maximum number of snapshots reached',
        },
      ],
      message: 'data-1: maximum number of snapshots reached',
    }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('data-1');
  });
});

describe('the kube hook command against snapwarden in kubernetes mode', () => {
  let cluster: KubeCluster;
  let docs: HookManifest[];

  beforeAll(async () => {
    cluster = await startKubeCluster({ namespace: 'shop' });
    await cluster.boundClaims(['data-0', 'data-1'], { 'app.kubernetes.io/instance': 'shop' });
    await cluster.boundClaims(['other-0'], { 'app.kubernetes.io/instance': 'other' });
    await cluster.startApp({ SNAPWARDEN_QUEUE_PREFIX: 'sw-e2e-hook' });
    docs = hookManifests(await renderHook(HOOKS.kube, RELEASE));
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('snapshots every claim of the release, and only those, then exits 0', async () => {
    const result = await runCli(hookArgs(docs, cluster.kubeconfigPath));
    expect([result.code, result.stderr]).toEqual([0, '']);
    const [request] = requestsOf(cluster.sim, 'shop');
    expect(request?.status?.phase).toBe('Succeeded');
    for (const claim of ['data-0', 'data-1']) {
      const ready = cluster.snapshotsOf(claim).filter((s) => s.status?.readyToUse === true);
      expect([claim, ready.length]).toEqual([claim, 1]);
    }
    expect(cluster.snapshotsOf('other-0')).toEqual([]);
  }, 60_000);

  it('fails (exit 1, the claim named) when a claim is at its snapshot cap', async () => {
    // Fill data-1 up to the everest driver's cap of 7 with snapshots snapwarden does not manage.
    const existing = cluster.snapshotsOf('data-1').length;
    for (let i = existing; i < 7; i += 1) {
      cluster.sim.store.seed({
        apiVersion: SNAPSHOT_API,
        kind: 'VolumeSnapshot',
        metadata: { name: `manual-${i}`, namespace: 'shop' },
        spec: { source: { persistentVolumeClaimName: 'data-1' } },
      });
    }
    await eventually(
      () => cluster.snapshotsOf('data-1').filter((s) => s.status?.readyToUse === true).length === 7,
      10_000,
      `data-1 at the ${EVEREST} cap`,
    );
    const result = await runCli(hookArgs(docs, cluster.kubeconfigPath));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('data-1');
    const failed = requestsOf(cluster.sim, 'shop').filter((r) => r.status?.phase === 'Failed');
    expect(failed).toHaveLength(1);
    expect(cluster.snapshotsOf('data-1')).toHaveLength(7);
  }, 60_000);
});
