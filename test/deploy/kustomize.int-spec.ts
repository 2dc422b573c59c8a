import { parseAllDocuments } from 'yaml';
import { loadConfig } from '#lib/config';
import { parseBackupPolicy } from '#lib/policy';
import { describeWithKubectl, kubectl } from './kubectl-runner.js';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}
interface Container {
  image: string;
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }[];
  envFrom: { configMapRef: { name: string } }[];
  livenessProbe: { httpGet: { path: string } };
  startupProbe?: { httpGet: { path: string }; periodSeconds: number; failureThreshold: number };
  readinessProbe: { httpGet: { path: string } };
  resources: { requests: object; limits: object };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: { runAsNonRoot: boolean };
  containers: Container[];
}

async function render(dir: string): Promise<Manifest[]> {
  const result = await kubectl(['kustomize', `deploy/kustomize/${dir}`]);
  if (!result.ok) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
    return doc.toJS() as Manifest;
  });
}

const kinds = (manifests: Manifest[]) =>
  manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
const find = (manifests: Manifest[], kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind}/${name}`);
  return found;
};
const podSpec = (deployment: Manifest) =>
  (deployment as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;

const BASE_KINDS = [
  'ClusterRole/snapwarden',
  'ClusterRoleBinding/snapwarden',
  'ConfigMap/snapwarden-config',
  'CustomResourceDefinition/backuppolicies.snapwarden.io',
  'CustomResourceDefinition/restorerequests.snapwarden.io',
  'CustomResourceDefinition/snapshotrequests.snapwarden.io',
  'Deployment/snapwarden-api',
  'Deployment/snapwarden-scheduler',
  'Deployment/snapwarden-worker',
  'Namespace/snapwarden-system',
  'PodDisruptionBudget/snapwarden-worker',
  'Service/snapwarden-api',
  'ServiceAccount/snapwarden',
];

describeWithKubectl('kustomize manifests')('kustomize manifests in deploy/kustomize', () => {
  it('base renders the CRDs, RBAC, config, the three roles and the API service', async () => {
    const base = await render('base');
    expect(kinds(base)).toEqual(BASE_KINDS);
    for (const m of base.filter((m) => !m.kind.startsWith('Cluster') && m.kind !== 'Namespace'))
      if (m.kind !== 'CustomResourceDefinition')
        expect([m.kind, m.metadata.namespace]).toEqual([m.kind, 'snapwarden-system']);
  });

  // Which verbs the ClusterRole grants is checked against the calls the app makes, both ways,
  // in test/deploy/rbac-calls.e2e-spec.ts.
  it('binds the ClusterRole to the ServiceAccount the Deployments run as', async () => {
    const binding = find(await render('base'), 'ClusterRoleBinding', 'snapwarden');
    expect(binding).toMatchObject({
      subjects: [{ kind: 'ServiceAccount', name: 'snapwarden', namespace: 'snapwarden-system' }],
    });
  });

  it.each(['scheduler', 'worker', 'api'])(
    'runs the %s role from the one image, non-root, read-only, probed',
    async (role) => {
      const spec = podSpec(find(await render('base'), 'Deployment', `snapwarden-${role}`));
      expect(spec.serviceAccountName).toBe('snapwarden');
      expect(spec.securityContext.runAsNonRoot).toBe(true);
      const [container] = spec.containers;
      expect(container?.image).toBe('ghcr.io/snapwarden/snapwarden:0.1.0');
      expect(container?.env).toContainEqual({ name: 'SNAPWARDEN_ROLES', value: role });
      const token = container?.env.find((e) => e.name === 'SNAPWARDEN_API_TOKEN');
      expect(token?.valueFrom?.secretKeyRef?.name).toBe('snapwarden-api-token');
      expect(container?.envFrom).toEqual([{ configMapRef: { name: 'snapwarden-config' } }]);
      expect(container?.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container?.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container?.resources.requests).toBeDefined();
      expect(container?.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
    },
  );

  it.each(['scheduler', 'worker', 'api'])(
    'lets the %s role start for up to 120 s before liveness applies',
    async (role) => {
      const spec = podSpec(find(await render('base'), 'Deployment', `snapwarden-${role}`));
      expect(spec.containers[0]?.startupProbe).toMatchObject({
        httpGet: { path: '/healthz' },
        periodSeconds: 5,
        failureThreshold: 24,
      });
    },
  );

  it('keeps one worker through voluntary disruptions', async () => {
    expect(find(await render('base'), 'PodDisruptionBudget', 'snapwarden-worker')).toMatchObject({
      spec: {
        minAvailable: 1,
        selector: { matchLabels: { 'app.kubernetes.io/component': 'worker' } },
      },
    });
  });

  it('with-redis-sentinel replaces REDIS_URL with the sentinels, passwords from an optional Secret', async () => {
    const manifests = await render('overlays/with-redis-sentinel');
    const config = find(manifests, 'ConfigMap', 'snapwarden-config') as unknown as {
      data: Record<string, string>;
    };
    expect(config.data.REDIS_URL).toBeUndefined();
    const env = {
      ...config.data,
      REDIS_PASSWORD: 'from-secret',
      REDIS_SENTINEL_PASSWORD: 'from-secret',
    };
    expect(loadConfig(env).redisSentinel).toMatchObject({ name: 'mymaster' });
    for (const role of ['scheduler', 'worker', 'api']) {
      const names = podSpec(find(manifests, 'Deployment', `snapwarden-${role}`))
        .containers[0]?.env.filter(
          (e) => e.valueFrom?.secretKeyRef?.name === 'snapwarden-redis-auth',
        )
        .map((e) => e.name);
      expect(names).toEqual(['REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD']);
    }
  });

  it('configures kubernetes mode and Redis through the ConfigMap', async () => {
    expect(find(await render('base'), 'ConfigMap', 'snapwarden-config')).toMatchObject({
      data: { SNAPWARDEN_MODE: 'kubernetes', REDIS_URL: 'redis://snapwarden-redis:6379' },
    });
  });

  it('with-redis adds a Redis with AOF and noeviction behind the service REDIS_URL names', async () => {
    const manifests = await render('overlays/with-redis');
    expect(kinds(manifests)).toEqual(
      [
        ...BASE_KINDS,
        'Service/snapwarden-redis',
        'Service/snapwarden-redis-headless',
        'StatefulSet/snapwarden-redis',
      ].sort(),
    );
    const redis = find(manifests, 'StatefulSet', 'snapwarden-redis') as unknown as {
      metadata: { namespace: string };
      spec: {
        serviceName: string;
        template: {
          spec: {
            automountServiceAccountToken?: boolean;
            containers: { args: string[]; resources: { limits: { memory: string } } }[];
          };
        };
      };
    };
    expect(redis.metadata.namespace).toBe('snapwarden-system');
    const pod = redis.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    const args = pod.containers[0]?.args.join(' ');
    expect(args).toContain('--appendonly yes');
    expect(args).toContain('--maxmemory-policy noeviction');
    // noeviction acts only below maxmemory, which must leave the container headroom.
    const maxmemoryMb = Number(/--maxmemory (\d+)mb/.exec(args ?? '')?.[1]);
    const limitMi = Number(/^(\d+)Mi$/.exec(pod.containers[0]?.resources.limits.memory ?? '')?.[1]);
    expect(maxmemoryMb).toBeGreaterThan(0);
    expect(maxmemoryMb * 1e6).toBeLessThan(0.85 * limitMi * 2 ** 20);
    const headless = find(manifests, 'Service', redis.spec.serviceName) as unknown as {
      spec: { clusterIP?: string };
    };
    expect(headless.spec.clusterIP).toBe('None');
  });

  it('examples hold snapshot classes with their cap and policies that validate under it', async () => {
    const manifests = await render('overlays/examples');
    const classes = manifests.filter((m) => m.kind === 'VolumeSnapshotClass');
    const everest = classes.find((m) => m.driver === 'disk.csi.everest.io');
    expect(everest?.metadata.annotations?.['snapwarden.io/max-snapshots-per-volume']).toBe('7');
    expect(classes.some((m) => String(m.driver).endsWith('hwameistor.io'))).toBe(true);
    const capOf = new Map(
      classes.map((m) => [
        m.metadata.name,
        Number(m.metadata.annotations?.['snapwarden.io/max-snapshots-per-volume']),
      ]),
    );
    const policies = manifests.filter((m) => m.kind === 'BackupPolicy');
    expect(policies.length).toBeGreaterThan(0);
    for (const policy of policies) {
      const className = (policy as unknown as { spec: { snapshotClassName: string } }).spec
        .snapshotClassName;
      const result = parseBackupPolicy(policy, {
        defaultDriver: 'csi',
        maxSnapshotsPerVolume: () => capOf.get(className),
      });
      expect([policy.metadata.name, result]).toEqual([
        policy.metadata.name,
        expect.objectContaining({ ok: true }),
      ]);
    }
  });
});
