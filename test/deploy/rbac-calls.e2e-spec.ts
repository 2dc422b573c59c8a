import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../k8s-sim/index.js';
import { eventually, type AppProcess } from '../support/app-process.js';
import { POLICY_API, startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import {
  postJson,
  seedClaim,
  settled,
  untilBound,
  type RestoreView,
} from '../support/kube-requests.js';
import { deployment, seedHwameiStor, statefulSet } from '../support/kube-workloads.js';
import { REPO_ROOT } from './kubectl-runner.js';

const BASE = join(REPO_ROOT, 'deploy', 'kustomize', 'base');
const TOKEN = 'rbac-calls-token-0123456789';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}
interface Manifest {
  kind?: string;
  metadata?: { name?: string };
  rules?: Rule[];
  roleRef?: { kind?: string; name?: string };
  subjects?: { kind?: string; name?: string }[];
  spec?: { template?: { spec?: { serviceAccountName?: string } } };
}

/** Every document of the base kustomization's resources. */
async function baseManifests(): Promise<Manifest[]> {
  const kustomization = parseAllDocuments(
    await readFile(join(BASE, 'kustomization.yaml'), 'utf8'),
  )[0]?.toJS() as {
    resources: string[];
  };
  const docs: Manifest[] = [];
  for (const file of kustomization.resources) {
    const text = await readFile(join(BASE, file), 'utf8');
    docs.push(...parseAllDocuments(text).map((d) => d.toJS() as Manifest));
  }
  return docs.filter((d) => d && typeof d === 'object');
}

/**
 * `group/resource: verb` for every grant of the roles bound to the ServiceAccount the three
 * Deployments run as (a rule listing several groups, resources and verbs grants each combination).
 */
function grantsOf(docs: Manifest[]): string[] {
  const accounts = new Set(
    docs
      .filter((d) => d.kind === 'Deployment')
      .map((d) => d.spec?.template?.spec?.serviceAccountName ?? 'default'),
  );
  expect([...accounts]).toEqual(['snapwarden']);
  const bound = new Set(
    docs
      .filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding')
      .filter((b) =>
        b.subjects?.some((s) => s.kind === 'ServiceAccount' && accounts.has(s.name ?? '')),
      )
      .map((b) => `${b.roleRef?.kind}/${b.roleRef?.name}`),
  );
  const rules = docs
    .filter((d) => bound.has(`${d.kind}/${d.metadata?.name}`))
    .flatMap((d) => d.rules ?? []);
  const grants = rules.flatMap((rule) =>
    (rule.apiGroups ?? []).flatMap((group) =>
      (rule.resources ?? []).flatMap((resource) =>
        (rule.verbs ?? []).map((verb) => `${group}/${resource}: ${verb}`),
      ),
    ),
  );
  return [...new Set(grants)].sort();
}

/**
 * Grants real API servers check but the simulator cannot show used, each with its reason. Keep
 * it minimal: a grant the code does not need is removed from rbac.yaml, never listed here.
 */
const KEPT_UNEXERCISED: Record<string, string> = {
  // client-node opens exec as a WebSocket, an HTTP GET, which every API server authorises as
  // `get` on pods/exec; from 1.35 (AuthorizePodWebsocketUpgradeCreatePermission) it checks
  // `create` as well. The simulator records the upgrade under the one verb `create`.
  '/pods/exec: get': 'the WebSocket GET of an exec, recorded by the simulator as create',
};

/** One kubernetes-mode flow the app is driven through; add one per new kind of call. */
interface Flow {
  name: string;
  run(cluster: KubeCluster, app: AppProcess): Promise<void>;
}

function crPhase(cluster: KubeCluster, kind: string, name: string): string | undefined {
  const obj: (KubeObject & { status?: { phase?: string } }) | undefined = cluster.sim.store.read(
    POLICY_API,
    kind,
    name,
    cluster.namespace,
  );
  return obj?.status?.phase;
}

function untilCrFinished(cluster: KubeCluster, kind: string, name: string): Promise<string> {
  return eventually(
    () => {
      const phase = crPhase(cluster, kind, name);
      return Promise.resolve(phase === 'Succeeded' || phase === 'Failed' ? phase : undefined);
    },
    30_000,
    `${kind} ${name} finished`,
  );
}

const FLOWS: Flow[] = [
  {
    name: 'a scheduled policy snapshots, rotates and writes its status and Events',
    async run(cluster) {
      cluster.createPolicy('fast', {
        schedule: '*/2 * * * * *',
        selector: { matchLabels: { app: 'shop' } },
        snapshotClassName: 'everest-snap',
        retention: { keepLast: 1 },
      });
      await eventually(
        () => {
          const rotated =
            cluster.policyEvents('fast').length > 0 &&
            cluster.managedSnapshotsOf('db-0').length === 1;
          const status = cluster.policy('fast')?.status?.lastSuccessTime;
          return Promise.resolve(rotated && status && deletedSnapshots(cluster) ? true : undefined);
        },
        40_000,
        'policy fast snapshotted, rotated and reported',
      );
    },
  },
  {
    name: 'a SnapshotRequest resource is snapshotted and its status written',
    async run(cluster) {
      cluster.sim.store.seed({
        apiVersion: POLICY_API,
        kind: 'SnapshotRequest',
        metadata: { name: 'adhoc', namespace: cluster.namespace },
        spec: { claimNames: ['db-1'] },
      });
      expect(await untilCrFinished(cluster, 'SnapshotRequest', 'adhoc')).toBe('Succeeded');
    },
  },
  {
    name: 'a RestoreRequest resource restores into a new claim',
    async run(cluster) {
      cluster.sim.store.seed({
        apiVersion: POLICY_API,
        kind: 'RestoreRequest',
        metadata: { name: 'copy', namespace: cluster.namespace },
        spec: { snapshotName: 'adhoc-db-1', target: { claimName: 'db-1-copy' } },
      });
      expect(await untilCrFinished(cluster, 'RestoreRequest', 'copy')).toBe('Succeeded');
    },
  },
  {
    name: 'a HwameiStor claim is rolled back through the REST API',
    async run(cluster, app) {
      const made = await postJson(
        app,
        '/api/v1/snapshot-requests',
        { metadata: { namespace: cluster.namespace, name: 'lv' }, spec: { claimNames: ['lv-0'] } },
        TOKEN,
      );
      expect(made.status).toBe(201);
      const snapshotted = await settled(
        app,
        `/api/v1/snapshot-requests/${cluster.namespace}/lv`,
        30_000,
      );
      expect(snapshotted.phase).toBe('Succeeded');
      const rollback = await postJson(
        app,
        '/api/v1/restores',
        {
          metadata: { namespace: cluster.namespace, name: 'lv-back' },
          spec: { snapshotName: 'lv-lv-0', mode: 'Rollback' },
        },
        TOKEN,
      );
      expect(rollback.status).toBe(201);
      const final = await settled<RestoreView>(
        app,
        `/api/v1/restores/${cluster.namespace}/lv-back`,
        30_000,
      );
      expect([final.phase, final.message]).toEqual(['Succeeded', final.message]);
    },
  },
  {
    name: 'pre and post hooks run in the pod that mounts the claim',
    async run(cluster) {
      cluster.sim.store.seed({
        apiVersion: POLICY_API,
        kind: 'SnapshotRequest',
        metadata: { name: 'hooked', namespace: cluster.namespace },
        spec: {
          claimNames: ['app-data'],
          hooks: {
            pre: [{ name: 'freeze', command: ['fsfreeze', '--freeze', '/data'] }],
            post: [{ name: 'thaw', command: ['fsfreeze', '--unfreeze', '/data'] }],
          },
        },
      });
      expect(await untilCrFinished(cluster, 'SnapshotRequest', 'hooked')).toBe('Succeeded');
      expect(cluster.sim.exec.calls.map((c) => `${c.pod} ${c.command[1] ?? ''}`)).toEqual([
        'app-sim-0 --freeze',
        'app-sim-0 --unfreeze',
      ]);
    },
  },
  quiescedRollback('Deployment', 'web', 'lv-web'),
  quiescedRollback('StatefulSet', 'db', 'lv-db-0'),
  {
    name: 'status writes that meet a conflict read the object again',
    async run(cluster) {
      for (const resource of ['backuppolicies', 'snapshotrequests', 'restorerequests']) {
        cluster.sim.faults.failNext({ verb: 'patch', resource: `${resource}/status`, status: 409 });
      }
      cluster.sim.store.seed({
        apiVersion: POLICY_API,
        kind: 'SnapshotRequest',
        metadata: { name: 'conflicted', namespace: cluster.namespace },
        spec: { claimNames: ['db-0'] },
      });
      expect(await untilCrFinished(cluster, 'SnapshotRequest', 'conflicted')).toBe('Succeeded');
      cluster.sim.store.seed({
        apiVersion: POLICY_API,
        kind: 'RestoreRequest',
        metadata: { name: 'conflicted-copy', namespace: cluster.namespace },
        spec: { snapshotName: 'conflicted-db-0', target: { claimName: 'db-0-copy' } },
      });
      expect(await untilCrFinished(cluster, 'RestoreRequest', 'conflicted-copy')).toBe('Succeeded');
      await eventually(
        () => Promise.resolve(readAfterConflict(cluster, 'backuppolicies') ? true : undefined),
        30_000,
        'a BackupPolicy status written after a conflict',
      );
    },
  },
  {
    name: 'a snapshot create answered AlreadyExists reads the snapshot under that name',
    async run(cluster) {
      cluster.sim.faults.failNext({
        verb: 'create',
        resource: 'volumesnapshots',
        status: 409,
        reason: 'AlreadyExists',
      });
      cluster.sim.store.seed({
        apiVersion: POLICY_API,
        kind: 'SnapshotRequest',
        metadata: { name: 'raced', namespace: cluster.namespace },
        spec: { claimNames: ['db-1'] },
      });
      await untilCrFinished(cluster, 'SnapshotRequest', 'raced');
      expect(cluster.sim.requestLog.count('get', 'volumesnapshots')).toBeGreaterThan(0);
    },
  },
  {
    name: 'the same Event again bumps its count',
    async run(cluster) {
      const broken = {
        schedule: '0 3 * * *',
        selector: { matchLabels: { app: 'none' } },
        retention: { keepLast: 1 },
        timeZone: 'Mars/Olympus_Mons',
      };
      const policy = cluster.createPolicy('broken', broken);
      const invalidEvents = () =>
        cluster.policyEvents('broken').filter((e) => e.reason === 'InvalidSpec');
      await eventually(
        () => Promise.resolve(invalidEvents().length > 0 ? true : undefined),
        20_000,
        'an InvalidSpec Event',
      );
      cluster.sim.store.mergeInto(policy, { spec: { timeZone: 'UTC' } });
      await eventually(
        () =>
          Promise.resolve(
            cluster.policy('broken')?.status?.conditions?.some((c) => c.status === 'True')
              ? true
              : undefined,
          ),
        20_000,
        'policy broken fixed',
      );
      cluster.sim.store.mergeInto(policy, { spec: { timeZone: 'Mars/Olympus_Mons' } });
      await eventually(
        () => Promise.resolve((invalidEvents()[0]?.count ?? 1) > 1 ? true : undefined),
        20_000,
        'the InvalidSpec Event counted twice',
      );
    },
  },
];

/**
 * A HwameiStor claim mounted by a pod of `workload` snapshotted, then rolled back with
 * `quiesce: ScaleDown`: the workload is scaled to zero and back through its scale subresource.
 */
function quiescedRollback(
  kind: 'Deployment' | 'StatefulSet',
  workload: string,
  claim: string,
): Flow {
  return {
    name: `a rollback of a claim a ${kind} mounts scales it down and back up`,
    async run(cluster) {
      const { sim, namespace } = cluster;
      sim.store.seed({
        apiVersion: POLICY_API,
        kind: 'SnapshotRequest',
        metadata: { name: `snap-${workload}`, namespace },
        spec: { claimNames: [claim] },
      });
      expect(await untilCrFinished(cluster, 'SnapshotRequest', `snap-${workload}`)).toBe(
        'Succeeded',
      );
      const mark = sim.requestLog.mark();
      sim.store.seed({
        apiVersion: POLICY_API,
        kind: 'RestoreRequest',
        metadata: { name: `back-${workload}`, namespace },
        spec: { snapshotName: `snap-${workload}-${claim}`, mode: 'Rollback', quiesce: 'ScaleDown' },
      });
      expect(await untilCrFinished(cluster, 'RestoreRequest', `back-${workload}`)).toBe(
        'Succeeded',
      );
      const scale = `${kind.toLowerCase()}s/scale`;
      expect(sim.requestLog.count('patch', scale, mark)).toBe(2);
      const after: (KubeObject & { spec?: { replicas?: number } }) | undefined = sim.store.read(
        'apps/v1',
        kind,
        workload,
        namespace,
      );
      expect(after?.spec?.replicas).toBe(1);
    },
  };
}

/** A status patch of `resource` answered 409, then a read of the object. */
function readAfterConflict(cluster: KubeCluster, resource: string): boolean {
  const log = cluster.sim.requestLog.all();
  const conflict = log.find((r) => r.resource === `${resource}/status` && r.status === 409);
  return (
    conflict !== undefined &&
    log.some((r) => r.seq > conflict.seq && r.verb === 'get' && r.resource === resource)
  );
}

function deletedSnapshots(cluster: KubeCluster): boolean {
  return cluster.sim.requestLog.count('delete', 'volumesnapshots') > 0;
}

describe('RBAC of the manifests against the calls snapwarden makes in kubernetes mode', () => {
  let cluster: KubeCluster;
  let app: AppProcess;

  beforeAll(async () => {
    cluster = await startKubeCluster({ restoreDelayMs: 50 });
    const { sim, namespace } = cluster;
    seedHwameiStor(sim);
    await cluster.boundClaims(['db-0', 'db-1'], { app: 'shop' });
    await cluster.boundClaims(['app-data'], { app: 'hooked' });
    for (const name of ['lv-0', 'lv-web', 'lv-db-0']) {
      seedClaim(sim, namespace, name, { storageClassName: 'hwameistor-lvm', size: '1Gi' });
    }
    await untilBound(sim, namespace, ['lv-0', 'lv-web', 'lv-db-0']);
    sim.store.seed(deployment(namespace, 'app', { claim: 'app-data' }));
    sim.store.seed(deployment(namespace, 'web', { claim: 'lv-web' }));
    sim.store.seed(statefulSet(namespace, 'db', 'lv'));
    await eventually(
      () =>
        Promise.resolve(sim.store.items('v1', 'Pod', namespace).length === 3 ? true : undefined),
      10_000,
      'the pods of app, web and db running',
    );
    cluster.sim.requestLog.reset();
    app = await cluster.startApp({ SNAPWARDEN_API_TOKEN: TOKEN });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('grants every call the flows make, and every grant is used by one of them', async () => {
    for (const flow of FLOWS) {
      await flow.run(cluster, app);
    }
    await app.stop();
    const used = new Set(
      cluster.sim.requestLog
        .all()
        .filter((r) => r.resource !== undefined)
        .map((r) => `${r.group ?? ''}/${r.resource ?? ''}: ${r.verb}`),
    );
    const granted = grantsOf(await baseManifests());
    expect({ notGranted: [...used].filter((c) => !granted.includes(c)).sort() }).toEqual({
      notGranted: [],
    });
    expect({
      neverUsed: granted.filter((g) => !used.has(g) && KEPT_UNEXERCISED[g] === undefined),
    }).toEqual({ neverUsed: [] });
    // The kept list names only grants that exist and that no flow exercises.
    expect({
      keptNeedlessly: Object.keys(KEPT_UNEXERCISED).filter(
        (g) => !granted.includes(g) || used.has(g),
      ),
    }).toEqual({ keptNeedlessly: [] });
  }, 240_000);
});
