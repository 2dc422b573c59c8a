import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startKubeSim, type KubeSim } from '../k8s-sim/index.js';
import { describeWithKubectl, kubectl, REPO_ROOT, type KubectlResult } from './kubectl-runner.js';
import {
  cliFlags,
  DEFAULT_VALUES,
  hookManifests,
  HOOKS,
  jobPod,
  onlyOf,
  renderHook,
  type HookManifest,
} from './pre-upgrade-hook-render.js';

const HOOK_NAME = 'shop-pre-upgrade-snapshot';
const HOOK_ANNOTATIONS = {
  'helm.sh/hook': 'pre-upgrade',
  'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
};
/** The whole grant of the hook's Role: create the request, get it until it is final. */
const EXPECTED_RULES = [
  { apiGroups: ['snapwarden.io'], resources: ['snapshotrequests'], verbs: ['create', 'get'] },
];

const weight = (m: HookManifest): number => Number(m.metadata.annotations?.['helm.sh/hook-weight']);

describe('the Kubernetes-native pre-upgrade hook manifest', () => {
  let docs: HookManifest[];
  beforeAll(async () => {
    docs = hookManifests(await renderHook(HOOKS.kube));
  });

  it('is a ServiceAccount, a Role, a RoleBinding and a Job, all pre-upgrade hooks', () => {
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'Job']);
    for (const doc of docs) {
      expect([doc.kind, doc.metadata.name, doc.metadata.namespace]).toEqual([
        doc.kind,
        HOOK_NAME,
        'default',
      ]);
      expect([doc.kind, doc.metadata.annotations]).toEqual([
        doc.kind,
        expect.objectContaining(HOOK_ANNOTATIONS),
      ]);
      expect([doc.kind, Number.isInteger(weight(doc))]).toEqual([doc.kind, true]);
    }
  });

  it('orders the hooks so the identity and its grant exist before the Job starts', () => {
    const byKind = (kind: string) => weight(onlyOf(docs, kind));
    expect(byKind('ServiceAccount')).toBeLessThan(byKind('Role'));
    expect(byKind('Role')).toBeLessThan(byKind('RoleBinding'));
    expect(byKind('RoleBinding')).toBeLessThan(byKind('Job'));
  });

  it('runs snapwarden snapshot --kube for the release with the pod ServiceAccount token', () => {
    const pod = jobPod(docs);
    const [container] = pod.containers;
    expect(container?.command.join(' ')).toBe(
      'node dist/apps/cli/src/main.js snapshot --kube -n default ' +
        '-l app.kubernetes.io/instance=shop --reason pre-upgrade 2.4.0 --wait --timeout 10m',
    );
    expect(pod.serviceAccountName).toBe(HOOK_NAME);
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(onlyOf(docs, 'ServiceAccount').automountServiceAccountToken).toBe(true);
    // No API token and no API address: the kube variant talks to the Kubernetes API only.
    expect(container?.env ?? []).toEqual([]);
  });

  it('keeps the Job hardened: no retries, a deadline, non-root, read-only, no capabilities', () => {
    const job = onlyOf(docs, 'Job');
    expect(job.spec?.backoffLimit).toBe(0);
    expect(job.spec?.activeDeadlineSeconds).toBeGreaterThan(600); // longer than --timeout 10m
    const pod = jobPod(docs);
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('grants create and get on snapshotrequests in the release namespace, nothing else', () => {
    const role = onlyOf(docs, 'Role');
    expect(role.rules).toEqual(EXPECTED_RULES);
    expect(docs.filter((d) => d.kind.startsWith('Cluster'))).toEqual([]);
    const binding = onlyOf(docs, 'RoleBinding');
    // A RoleBinding to a ClusterRole would grant that ClusterRole's rules instead.
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: HOOK_NAME,
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: HOOK_NAME, namespace: 'default' },
    ]);
  });

  it('puts every object in the namespace Helm releases into', async () => {
    const values = { ...DEFAULT_VALUES, release: 'web', namespace: 'prod' };
    const other = hookManifests(await renderHook(HOOKS.kube, values));
    for (const doc of other) expect([doc.kind, doc.metadata.namespace]).toEqual([doc.kind, 'prod']);
    expect(onlyOf(other, 'RoleBinding').subjects).toEqual([
      { kind: 'ServiceAccount', name: 'web-pre-upgrade-snapshot', namespace: 'prod' },
    ]);
    const [container] = jobPod(other).containers;
    expect(cliFlags(container?.command ?? []).get('-n')).toEqual(['prod']);
    expect(cliFlags(container?.command ?? []).get('-l')).toEqual([
      'app.kubernetes.io/instance=web',
    ]);
  });
});

describe('the two pre-upgrade hook variants', () => {
  let api: HookManifest[];
  let kube: HookManifest[];
  beforeAll(async () => {
    api = hookManifests(await renderHook(HOOKS.api));
    kube = hookManifests(await renderHook(HOOKS.kube));
  });

  it('run the same snapshot command; only --kube differs', () => {
    const [apiContainer] = jobPod(api).containers;
    const [kubeContainer] = jobPod(kube).containers;
    const apiCommand = apiContainer?.command ?? [];
    const kubeCommand = kubeContainer?.command ?? [];
    expect(kubeCommand.slice(0, 3)).toEqual(apiCommand.slice(0, 3));
    const apiFlags = cliFlags(apiCommand);
    const kubeFlags = cliFlags(kubeCommand);
    expect(apiFlags.has('--kube')).toBe(false);
    expect(kubeFlags.get('--kube')).toEqual([]);
    kubeFlags.delete('--kube');
    expect(Object.fromEntries(kubeFlags)).toEqual(Object.fromEntries(apiFlags));
    for (const flag of ['-n', '-l', '--reason', '--wait', '--timeout'])
      expect([flag, kubeFlags.has(flag)]).toEqual([flag, true]);
  });

  it('share the Job hardening, image, resources and hook annotations', () => {
    const apiJob = onlyOf(api, 'Job');
    const kubeJob = onlyOf(kube, 'Job');
    expect(kubeJob.metadata).toEqual(apiJob.metadata);
    expect(kubeJob.spec?.backoffLimit).toBe(apiJob.spec?.backoffLimit);
    expect(kubeJob.spec?.activeDeadlineSeconds).toBe(apiJob.spec?.activeDeadlineSeconds);
    const [apiContainer] = jobPod(api).containers;
    const [kubeContainer] = jobPod(kube).containers;
    expect(jobPod(kube).securityContext).toEqual(jobPod(api).securityContext);
    expect(kubeContainer?.image).toBe(apiContainer?.image);
    expect(kubeContainer?.resources).toEqual(apiContainer?.resources);
    expect(kubeContainer?.securityContext).toEqual(apiContainer?.securityContext);
  });

  it('differ in credentials: the API variant mounts no token and has no RBAC', () => {
    expect(api.map((d) => d.kind)).toEqual(['ServiceAccount', 'Job']);
    expect(onlyOf(api, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    expect(jobPod(api).automountServiceAccountToken).toBe(false);
    const [apiContainer] = jobPod(api).containers;
    expect(apiContainer?.env?.map((e) => e.name)).toEqual([
      'SNAPWARDEN_SERVER',
      'SNAPWARDEN_API_TOKEN',
    ]);
  });
});

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

describe("snapwarden's own ServiceAccount (deploy/kustomize/base/rbac.yaml)", () => {
  it('can see and drive the SnapshotRequests and RestoreRequests hooks create', async () => {
    const text = await readFile(join(REPO_ROOT, 'deploy/kustomize/base/rbac.yaml'), 'utf8');
    const docs = parseAllDocuments(text).map((d) => d.toJS() as HookManifest);
    const role = docs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === 'snapwarden');
    const rules = (role?.rules ?? []) as Rule[];
    const verbsOn = (group: string, resource: string): string[] =>
      rules
        .filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource))
        .flatMap((r) => r.verbs)
        .sort();
    for (const resource of ['snapshotrequests', 'restorerequests']) {
      expect([resource, verbsOn('snapwarden.io', resource)]).toEqual([
        resource,
        ['get', 'list', 'watch'],
      ]);
      expect([resource, verbsOn('snapwarden.io', `${resource}/status`)]).toEqual([
        resource,
        ['patch'],
      ]);
    }
    expect(verbsOn('', 'events')).toEqual(['create', 'get', 'patch']);
    const binding = docs.find((d) => d.kind === 'ClusterRoleBinding');
    expect(binding?.roleRef).toMatchObject({ kind: 'ClusterRole', name: 'snapwarden' });
    expect(binding?.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'snapwarden', namespace: 'snapwarden-system' },
    ]);
  });
});

describeWithKubectl('the Kubernetes-native pre-upgrade hook against the simulator')(
  'the Kubernetes-native pre-upgrade hook against the simulator',
  () => {
    const values = { release: 'shop', namespace: 'shop-prod', chartVersion: '2.4.0' };
    let sim: KubeSim;
    let dir: string;

    const run = (...args: string[]): Promise<KubectlResult> =>
      kubectl([
        `--kubeconfig=${join(dir, 'kubeconfig')}`,
        `--cache-dir=${join(dir, 'cache')}`,
        ...args,
      ]);
    const runOk = async (...args: string[]): Promise<string> => {
      const result = await run(...args);
      if (!result.ok) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
      return result.stdout;
    };
    const getJson = async <T>(...args: string[]): Promise<T> =>
      JSON.parse(await runOk('get', ...args, '-o', 'json')) as T;

    beforeAll(async () => {
      sim = await startKubeSim();
      dir = await mkdtemp(join(tmpdir(), 'snapwarden-hook-kube-'));
      await sim.writeKubeconfig(join(dir, 'kubeconfig'));
      await writeFile(join(dir, 'hook.yaml'), await renderHook(HOOKS.kube, values));
    });
    afterAll(async () => {
      await sim?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('is refused while the release namespace does not exist, and nothing is created', async () => {
      const refused = await run('apply', '-f', join(dir, 'hook.yaml'));
      expect(refused.ok).toBe(false);
      expect(refused.stderr).toContain('namespaces "shop-prod" not found');
      expect(sim.store.items('v1', 'ServiceAccount', 'shop-prod')).toEqual([]);
      expect(sim.store.items('batch/v1', 'Job', 'shop-prod')).toEqual([]);
    });

    it('applies cleanly with kubectl once rendered', async () => {
      await runOk('create', 'namespace', 'shop-prod');
      const applied = await run('apply', '-f', join(dir, 'hook.yaml'));
      expect(applied.stderr).toBe('');
      expect(applied.stdout.trim().split('\n')).toEqual([
        `serviceaccount/${HOOK_NAME} created`,
        `role.rbac.authorization.k8s.io/${HOOK_NAME} created`,
        `rolebinding.rbac.authorization.k8s.io/${HOOK_NAME} created`,
        `job.batch/${HOOK_NAME} created`,
      ]);
    });

    it('stores a ServiceAccount that mounts its token', async () => {
      const sa = await getJson<HookManifest>('serviceaccount', HOOK_NAME, '-n', 'shop-prod');
      expect(sa.automountServiceAccountToken).toBe(true);
      expect(sa.metadata.annotations).toMatchObject({
        ...HOOK_ANNOTATIONS,
        'helm.sh/hook-weight': '-10',
      });
    });

    it('stores a Role with exactly create and get on snapshotrequests, in shop-prod only', async () => {
      const role = await getJson<HookManifest>('role', HOOK_NAME, '-n', 'shop-prod');
      expect(role.rules).toEqual(EXPECTED_RULES);
      const everywhere = await getJson<{ items: HookManifest[] }>('roles', '-A');
      expect(everywhere.items.map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
        `shop-prod/${HOOK_NAME}`,
      ]);
      const clusterWide = await getJson<{ items: HookManifest[] }>(
        'clusterroles,clusterrolebindings',
      );
      expect(clusterWide.items.map((i) => i.metadata.name)).not.toContain(HOOK_NAME);
    });

    it('binds the Role to the hook ServiceAccount', async () => {
      const binding = await getJson<HookManifest>('rolebinding', HOOK_NAME, '-n', 'shop-prod');
      expect(binding.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: HOOK_NAME,
      });
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: HOOK_NAME, namespace: 'shop-prod' },
      ]);
    });

    it('stores the Job with the snapshot --kube command, run as the hook ServiceAccount', async () => {
      const job = await getJson<HookManifest>('job', HOOK_NAME, '-n', 'shop-prod');
      expect(job.metadata.annotations).toMatchObject({
        ...HOOK_ANNOTATIONS,
        'helm.sh/hook-weight': '-5',
      });
      const pod = job.spec?.template.spec;
      expect(pod?.serviceAccountName).toBe(HOOK_NAME);
      expect(pod?.automountServiceAccountToken).toBe(true);
      expect(pod?.containers[0]?.command).toEqual([
        'node',
        'dist/apps/cli/src/main.js',
        'snapshot',
        '--kube',
        '-n',
        'shop-prod',
        '-l',
        'app.kubernetes.io/instance=shop',
        '--reason',
        'pre-upgrade 2.4.0',
        '--wait',
        '--timeout',
        '10m',
      ]);
    });

    it('applies again unchanged (what before-hook-creation replaces is identical)', async () => {
      const again = await runOk('apply', '-f', join(dir, 'hook.yaml'));
      expect(again.trim().split('\n')).toEqual([
        `serviceaccount/${HOOK_NAME} unchanged`,
        `role.rbac.authorization.k8s.io/${HOOK_NAME} unchanged`,
        `rolebinding.rbac.authorization.k8s.io/${HOOK_NAME} unchanged`,
        `job.batch/${HOOK_NAME} unchanged`,
      ]);
    });
  },
);
