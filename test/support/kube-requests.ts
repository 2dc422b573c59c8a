import type { KubeObject, KubeSim } from '../k8s-sim/index.js';
import { eventually, getJson, type AppProcess } from './app-process.js';

/** A RestoreRequest as `GET /api/v1/restores/{namespace}/{name}` returns it. */
export interface RestoreView {
  namespace: string;
  name: string;
  phase: string;
  message?: string;
  field?: string;
  claimName?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** A SnapshotRequest as `GET /api/v1/snapshot-requests/{namespace}/{name}` returns it. */
export interface SnapshotRequestView {
  namespace: string;
  name: string;
  phase: string;
  message?: string;
  timedOut?: boolean;
  snapshots: { claim: string; snapshotName?: string; readyToUse: boolean; error?: string }[];
}

/** A PersistentVolumeClaim as the suites read it from the simulator. */
export interface ClaimObject extends KubeObject {
  spec: {
    storageClassName?: string;
    accessModes?: string[];
    volumeName?: string;
    resources?: { requests?: { storage?: string } };
    dataSource?: { kind?: string; apiGroup?: string; name?: string };
  };
  status?: { phase?: string };
}

/** The answer to a POST: its status code and decoded JSON body. */
export interface PostResult<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** POSTs JSON to the app with a bearer token. */
export async function postJson<T = Record<string, unknown>>(
  app: { url: string },
  path: string,
  body: unknown,
  token: string,
): Promise<PostResult<T>> {
  const response = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** Polls a request (`/api/v1/restores/…` or `/api/v1/snapshot-requests/…`) until it is final. */
export function settled<T extends { phase: string }>(
  app: AppProcess,
  path: string,
  timeoutMs = 20_000,
): Promise<T> {
  return eventually(
    async () => {
      const value = await getJson<T>(app, path);
      return value.phase === 'Succeeded' || value.phase === 'Failed' ? value : undefined;
    },
    timeoutMs,
    `${path} Succeeded or Failed`,
  );
}

/** Creates a claim in the simulator (not waiting for it to bind). */
export function seedClaim(
  sim: KubeSim,
  namespace: string,
  name: string,
  options: {
    storageClassName: string;
    size?: string;
    accessModes?: string[];
    labels?: Record<string, string>;
  },
): void {
  sim.store.seed({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, labels: options.labels ?? {} },
    spec: {
      accessModes: options.accessModes ?? ['ReadWriteOnce'],
      resources: { requests: { storage: options.size ?? '10Gi' } },
      storageClassName: options.storageClassName,
    },
  });
}

/** A claim in the simulator, if it exists. */
export function claimOf(sim: KubeSim, namespace: string, name: string): ClaimObject | undefined {
  return sim.store.read('v1', 'PersistentVolumeClaim', name, namespace) as ClaimObject | undefined;
}

/** Names of every claim of a namespace, sorted. */
export function claimNames(sim: KubeSim, namespace: string): string[] {
  return sim.store
    .items('v1', 'PersistentVolumeClaim', namespace)
    .map((c) => c.metadata.name ?? '')
    .sort();
}

/** Waits until every named claim is Bound. */
export async function untilBound(
  sim: KubeSim,
  namespace: string,
  names: string[],
  timeoutMs = 10_000,
): Promise<void> {
  await eventually(
    () =>
      Promise.resolve(
        names.every((n) => claimOf(sim, namespace, n)?.status?.phase === 'Bound')
          ? true
          : undefined,
      ),
    timeoutMs,
    `claims ${names.join(', ')} Bound`,
  );
}

/** An audit event as `GET /api/v1/events` returns it. */
export interface AuditEntry {
  id: string;
  time: string;
  type: string;
  outcome: string;
  trigger?: string;
  policy?: string;
  volume?: string;
  snapshot?: string;
  runId?: string;
  reason?: string;
  error?: string;
}

/** Every audit event matching `query` (all pages), in append order (oldest first). */
export async function auditEvents(
  app: { url: string },
  query: Record<string, string> = {},
): Promise<AuditEntry[]> {
  const events: AuditEntry[] = [];
  let cursor: string | undefined;
  do {
    const params = new URLSearchParams({ ...query, limit: '500' });
    if (cursor) params.set('cursor', cursor);
    const response = await fetch(`${app.url}/api/v1/events?${params.toString()}`);
    if (!response.ok) throw new Error(`GET /api/v1/events: ${response.status}`);
    const page = (await response.json()) as { items: AuditEntry[]; nextCursor?: string };
    events.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return events.sort((a, b) => compareStreamIds(a.id, b.id));
}

/** Orders Redis stream ids (`<ms>-<seq>`). */
function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
