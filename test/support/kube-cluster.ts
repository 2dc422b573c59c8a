import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startKubeSim,
  type KubeObject,
  type KubeSim,
  type KubeSimOptions,
} from '../k8s-sim/index.js';
import { eventually, startApp, type AppProcess } from './app-process.js';
import { startTestRedis, type TestRedis } from './redis-server.js';

/** Huawei's everest CSI driver: 7 snapshots per disk. */
export const EVEREST = 'disk.csi.everest.io';
export const SNAPSHOT_API = 'snapshot.storage.k8s.io/v1';
export const POLICY_API = 'snapwarden.io/v1alpha1';
const MANAGED_BY = 'app.kubernetes.io/managed-by';

/** A VolumeSnapshot as the suites read it. */
export interface SnapshotObject extends KubeObject {
  spec: { source: { persistentVolumeClaimName?: string }; volumeSnapshotClassName?: string };
  status?: { readyToUse?: boolean; error?: { message?: string } };
}

/** A BackupPolicy with the status snapwarden writes. */
export interface PolicyObject extends KubeObject {
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    nextRunTime?: string;
    lastRunTime?: string;
    lastSuccessTime?: string;
    lastRun?: { id: string; result: string; volumes: Record<string, number> };
    missedRuns?: number;
  };
}

/**
 * Everything a kubernetes-mode suite runs against: the API-server simulator with snapwarden's
 * CRDs, an everest-like storage class and snapshot class, a private redis-server, a kubeconfig
 * file, and the built app started in kubernetes mode against them.
 */
export interface KubeCluster {
  sim: KubeSim;
  redis: TestRedis;
  kubeconfigPath: string;
  namespace: string;
  /** Creates claims of the everest class (with labels) and waits until they are Bound. */
  boundClaims(names: string[], labels: Record<string, string>): Promise<void>;
  /** Creates a BackupPolicy custom resource. */
  createPolicy(name: string, spec: Record<string, unknown>): KubeObject;
  policy(name: string): PolicyObject | undefined;
  /** Every VolumeSnapshot of a claim (managed or not). */
  snapshotsOf(claim: string): SnapshotObject[];
  /** snapwarden's VolumeSnapshots of a claim. */
  managedSnapshotsOf(claim: string): SnapshotObject[];
  /** Core v1 Events whose involved object is the named policy. */
  policyEvents(name: string): { type: string; reason: string; message: string; count?: number }[];
  /** Starts the built app in kubernetes mode (more variables in `env`). */
  startApp(env?: Record<string, string>): Promise<AppProcess>;
  stop(): Promise<void>;
}

/** Starts the simulator, redis and the fixtures; the app is started by the suite. */
export async function startKubeCluster(
  options: KubeSimOptions & { namespace?: string } = {},
): Promise<KubeCluster> {
  const namespace = options.namespace ?? 'shop';
  const sim = await startKubeSim({ snapshotReadyDelayMs: 50, provisionDelayMs: 10, ...options });
  await sim.loadCrdsFromDir('deploy/crds');
  const redis = await startTestRedis();
  const dir = await mkdtemp(join(tmpdir(), 'snapwarden-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfigPath);
  seedStorage(sim, namespace);
  const apps: AppProcess[] = [];
  return {
    sim,
    redis,
    kubeconfigPath,
    namespace,
    async boundClaims(names, labels) {
      for (const name of names) sim.store.seed(claimManifest(namespace, name, labels));
      await eventually(
        () =>
          Promise.resolve(
            names.every((n) => phaseOf(sim, namespace, n) === 'Bound') ? true : undefined,
          ),
        10_000,
        `claims ${names.join(', ')} Bound`,
      );
    },
    createPolicy(name, spec) {
      return sim.store.seed({
        apiVersion: POLICY_API,
        kind: 'BackupPolicy',
        metadata: { name, namespace },
        spec,
      });
    },
    policy: (name) => sim.store.read(POLICY_API, 'BackupPolicy', name, namespace),
    snapshotsOf: (claim) => snapshotsOf(sim, namespace, claim),
    managedSnapshotsOf: (claim) =>
      snapshotsOf(sim, namespace, claim).filter(
        (s) => s.metadata.labels?.[MANAGED_BY] === 'snapwarden',
      ),
    policyEvents: (name) =>
      (sim.store.items('v1', 'Event', namespace) as unknown as EventObject[])
        .filter((e) => e.involvedObject?.kind === 'BackupPolicy' && e.involvedObject.name === name)
        .map((e) => ({ type: e.type, reason: e.reason, message: e.message, count: e.count })),
    async startApp(env = {}) {
      const app = await startApp({
        SNAPWARDEN_MODE: 'kubernetes',
        REDIS_URL: redis.url,
        KUBECONFIG: kubeconfigPath,
        SNAPWARDEN_JOB_LOCK_MS: '5000',
        SNAPWARDEN_RESYNC_INTERVAL: '5s',
        ...env,
      });
      apps.push(app);
      return app;
    },
    async stop() {
      await Promise.all(apps.splice(0).map((a) => a.kill()));
      await sim.stop();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface EventObject extends KubeObject {
  involvedObject?: { kind?: string; name?: string };
  type: string;
  reason: string;
  message: string;
  count?: number;
}

function seedStorage(sim: KubeSim, namespace: string): void {
  sim.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  sim.store.seed({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'csi-disk' },
    provisioner: EVEREST,
  });
  // No cap annotation: the everest driver's known default of 7 applies.
  sim.store.seed({
    apiVersion: SNAPSHOT_API,
    kind: 'VolumeSnapshotClass',
    metadata: {
      name: 'everest-snap',
      annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
    },
    driver: EVEREST,
    deletionPolicy: 'Delete',
  });
}

function claimManifest(namespace: string, name: string, labels: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, labels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '10Gi' } },
      storageClassName: 'csi-disk',
    },
  } as KubeObject;
}

function phaseOf(sim: KubeSim, namespace: string, name: string): string | undefined {
  const claim = sim.store.read('v1', 'PersistentVolumeClaim', name, namespace);
  const status = claim?.status as { phase?: string } | undefined;
  return status?.phase;
}

function snapshotsOf(sim: KubeSim, namespace: string, claim: string): SnapshotObject[] {
  return (sim.store.items(SNAPSHOT_API, 'VolumeSnapshot', namespace) as SnapshotObject[]).filter(
    (s) => s.spec.source.persistentVolumeClaimName === claim,
  );
}

/** A run as `GET /api/v1/runs` returns it. */
export interface RunView {
  id: string;
  state: string;
  scheduledAt: string;
  volumes: { volume: string; state: string; snapshot?: string; error?: string; reason?: string }[];
}

/** Every run of a policy, newest first (`state` optional). */
export async function runsOf(app: AppProcess, policy: string, state?: string): Promise<RunView[]> {
  const query = `policy=${encodeURIComponent(policy)}&limit=500${state ? `&state=${state}` : ''}`;
  const response = await fetch(`${app.url}/api/v1/runs?${query}`);
  if (!response.ok) throw new Error(`GET /api/v1/runs: ${response.status}`);
  return ((await response.json()) as { items: RunView[] }).items;
}

/** Waits until the policy has at least `count` runs in `state`; returns them. */
export function untilRuns(
  app: AppProcess,
  policy: string,
  state: string,
  count: number,
  timeoutMs = 30_000,
): Promise<RunView[]> {
  return eventually(
    async () => {
      const runs = await runsOf(app, policy, state);
      return runs.length >= count ? runs : undefined;
    },
    timeoutMs,
    `${count} ${state} runs of ${policy}`,
  );
}

/** An audit event as `GET /api/v1/events` returns it. */
export interface AuditView {
  type: string;
  volume?: string;
  snapshot?: string;
  runId?: string;
  reason?: string;
  error?: string;
}

/** Every audit event of a policy (oldest first within each page, all pages). */
export async function auditOf(app: AppProcess, policy: string): Promise<AuditView[]> {
  const events: AuditView[] = [];
  let cursor: string | undefined;
  do {
    const query = `policy=${encodeURIComponent(policy)}&limit=500${cursor ? `&cursor=${cursor}` : ''}`;
    const response = await fetch(`${app.url}/api/v1/events?${query}`);
    if (!response.ok) throw new Error(`GET /api/v1/events: ${response.status}`);
    const page = (await response.json()) as { items: AuditView[]; nextCursor?: string };
    events.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return events;
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
