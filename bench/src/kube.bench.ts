/**
 * `npm run bench`, kubernetes scenario: the built app in kubernetes mode (all roles in one
 * process, its own redis-server) against the API-server simulator, over N everest claims selected
 * by P BackupPolicies whose schedule fires every few seconds with a small keepLast, so that every
 * run also prunes. In kubernetes mode the API server's rate is the real limit, so the figures are
 * request counts, which do not depend on the machine's load:
 *
 * - API requests per snapshot lifecycle (create → ready → pruned), by verb and resource, over a
 *   steady-state window that starts once every policy has finished a run (the informers synced):
 *   every request of the window divided by the VolumeSnapshots created in it (target ≤ 3); and
 *   the same for a policy over one claim, which pays the per-run policy status and Events alone;
 * - LIST and WATCH requests per resource in that window (target 0 LIST: the informers list once
 *   at start; a watch that ends is re-established from its resourceVersion, without a LIST);
 * - then, the policies suspended, one SnapshotRequest over the first policy's claims: every
 *   request from its creation until it is Succeeded, per claim (+ 1 delete at expiry).
 *
 * BENCH_KUBE_CLAIMS (default 50), BENCH_KUBE_POLICIES (default 2), BENCH_KUBE_SCHEDULE_S (seconds
 * between runs, default 10), BENCH_KUBE_KEEP (keepLast, default 2), BENCH_KUBE_WINDOW_S (steady
 * window, default 60). The app keeps its default API rate limit (SNAPWARDEN_KUBE_QPS 20).
 */
import { execSync } from 'node:child_process';
import type { RequestRecord } from '../../test/k8s-sim/index.js';
import {
  sleep,
  startKubeCluster,
  untilRuns,
  type KubeCluster,
} from '../../test/support/kube-cluster.js';
import { envNumber } from './bench-support.js';

const CLAIMS = envNumber('BENCH_KUBE_CLAIMS', 50);
const POLICIES = envNumber('BENCH_KUBE_POLICIES', 2);
const SCHEDULE_S = envNumber('BENCH_KUBE_SCHEDULE_S', 10);
const KEEP = envNumber('BENCH_KUBE_KEEP', 2);
const WINDOW_S = envNumber('BENCH_KUBE_WINDOW_S', 60);

function line(what: string, value: string, target = '-'): void {
  console.log(`${what.padEnd(52)} ${value.padStart(10)}   (target ${target})`);
}

/** Seeds the claims (label `group: g<i % POLICIES>`) and one policy per group. */
async function seed(cluster: KubeCluster): Promise<void> {
  const groups = Array.from({ length: POLICIES }, (_, g) => `g${g}`);
  for (const group of groups) {
    const names = [];
    for (let i = 0; i < CLAIMS; i++) if (`g${i % POLICIES}` === group) names.push(`data-${i}`);
    await cluster.boundClaims(names, { app: 'bench', group });
    cluster.createPolicy(`every-${group}`, {
      schedule: `*/${SCHEDULE_S} * * * * *`,
      selector: { matchLabels: { app: 'bench', group } },
      snapshotClassName: 'everest-snap',
      retention: { keepLast: KEEP },
    });
  }
}

/** Per-resource counts of one verb. */
function countsOf(records: RequestRecord[], verb: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) {
    if (r.verb !== verb || r.resource === undefined) continue;
    counts.set(r.resource, (counts.get(r.resource) ?? 0) + 1);
  }
  return counts;
}

/** The informers' initial LISTs, per resource. */
function reportStartup(records: RequestRecord[]): void {
  const lists = [...countsOf(records, 'list')].map(([resource, n]) => `${resource} ${n}`);
  console.log(`LIST requests before the window (start-up, initial sync): ${lists.join(', ')}`);
}

function report(records: RequestRecord[], seconds: number, runs: number): void {
  const resourceRequests = records.filter((r) => r.resource !== undefined);
  const created = resourceRequests.filter(
    (r) => r.verb === 'create' && r.resource === 'volumesnapshots' && r.status === 201,
  ).length;
  const deleted = resourceRequests.filter(
    (r) => r.verb === 'delete' && r.resource === 'volumesnapshots',
  ).length;
  console.log(
    `window ${seconds.toFixed(0)} s: ${runs} runs finished, ${created} VolumeSnapshots created, ` +
      `${deleted} deleted (load ${execSync('uptime')
        .toString()
        .trim()
        .replace(/.*load/, 'load')})`,
  );
  const byKey = new Map<string, number>();
  for (const r of resourceRequests) {
    if (r.verb === 'watch') continue;
    const key = `${r.verb} ${r.resource}`;
    byKey.set(key, (byKey.get(key) ?? 0) + 1);
  }
  const perSnapshot = (n: number) => (created === 0 ? 'n/a' : (n / created).toFixed(3));
  console.log(
    'API requests per snapshot lifecycle (create → ready → pruned), by verb and resource:',
  );
  for (const [key, n] of [...byKey].sort((a, b) => b[1] - a[1])) {
    line(`  ${key} (${n})`, perSnapshot(n));
  }
  const total = [...byKey.values()].reduce((a, b) => a + b, 0);
  line(`API requests per snapshot lifecycle, total (${total})`, perSnapshot(total), '≤ 3');
  // Policy status and Events are written per run, whatever the number of claims it selects: a
  // policy over one claim pays them on every snapshot.
  const perRun = [...byKey]
    .filter(([key]) => / (backuppolicies|events)/.test(key))
    .reduce((a, [, n]) => a + n, 0);
  const perSnapshot1 = created === 0 ? NaN : (total - perRun) / created + perRun / runs;
  line(`  of which per run: policy status and Events (${perRun})`, (perRun / runs).toFixed(3));
  line('  … so with one claim per policy, per lifecycle', perSnapshot1.toFixed(3), '≤ 3');
  const lists = countsOf(resourceRequests, 'list');
  const watches = countsOf(resourceRequests, 'watch');
  console.log(
    `LIST and WATCH requests in the ${seconds.toFixed(0)} s steady window, per resource:`,
  );
  const resources = new Set([...lists.keys(), ...watches.keys()]);
  if (resources.size === 0) console.log('  none (no watch ended, none re-established)');
  for (const resource of resources) {
    line(
      `  list / watch ${resource}`,
      `${lists.get(resource) ?? 0} / ${watches.get(resource) ?? 0}`,
    );
  }
  const listTotal = [...lists.values()].reduce((a, b) => a + b, 0);
  const watchTotal = [...watches.values()].reduce((a, b) => a + b, 0);
  line('WATCH requests in the steady window (re-established)', String(watchTotal));
  line('LIST requests in the steady window', String(listTotal), '0');
}

async function main() {
  const cluster = await startKubeCluster({ namespace: 'bench' });
  try {
    console.log(
      `kube: ${CLAIMS} everest claims, ${POLICIES} BackupPolicies every ${SCHEDULE_S} s, ` +
        `keepLast ${KEEP}, all roles in one process against the API-server simulator`,
    );
    await seed(cluster);
    const app = await cluster.startApp({
      LOG_LEVEL: 'warn',
      SNAPWARDEN_RESYNC_INTERVAL: '60s',
    });
    const policies = Array.from({ length: POLICIES }, (_, g) => `bench/every-g${g}`);
    // Every policy finished a run: the informers synced and retention has something to prune.
    for (const policy of policies) await untilRuns(app, policy, 'succeeded', KEEP + 1, 120_000);
    const log = cluster.sim.requestLog;
    // The window opens and closes halfway between two ticks, when the last tick's runs and their
    // status patches are done: it holds whole runs, so per-run requests divide by their runs.
    await midwayBetweenTicks();
    const before = await finishedRuns(app.url, policies);
    const mark = log.mark();
    reportStartup(log.all());
    const started = performance.now();
    await sleep(Math.ceil(WINDOW_S / SCHEDULE_S) * SCHEDULE_S * 1000);
    const seconds = (performance.now() - started) / 1000;
    const records = log.since(mark);
    const runs = (await finishedRuns(app.url, policies)) - before;
    report(records, seconds, runs);
    await onDemand(cluster);
  } finally {
    await cluster.stop();
  }
}

/** Suspends every policy and waits until the API server has heard nothing but watches for 3 s. */
async function quiesce(cluster: KubeCluster): Promise<void> {
  for (let g = 0; g < POLICIES; g++) {
    const policy = cluster.policy(`every-g${g}`);
    if (policy) cluster.sim.store.mergeInto(policy, { spec: { suspend: true } });
  }
  const log = cluster.sim.requestLog;
  for (;;) {
    const mark = log.mark();
    await sleep(3000);
    if (log.since(mark).every((r) => r.verb === 'watch')) return;
  }
}

/**
 * One SnapshotRequest over the first group's claims, the policies suspended: every request from
 * its creation until it is Succeeded and its Event written, per claim. Its snapshots are deleted
 * later, when they expire: one request each more.
 */
async function onDemand(cluster: KubeCluster): Promise<void> {
  const name = 'bench-now';
  const log = cluster.sim.requestLog;
  await quiesce(cluster);
  const mark = log.mark();
  cluster.sim.store.seed({
    apiVersion: 'snapwarden.io/v1alpha1',
    kind: 'SnapshotRequest',
    metadata: { name, namespace: cluster.namespace },
    spec: { selector: { matchLabels: { app: 'bench', group: 'g0' } }, ttl: '1h' },
  });
  const phase = () =>
    (
      cluster.sim.store.read('snapwarden.io/v1alpha1', 'SnapshotRequest', name, cluster.namespace)
        ?.status as { phase?: string } | undefined
    )?.phase;
  const about = () => log.since(mark).filter((r) => r.verb !== 'watch' && r.resource !== undefined);
  const deadline = Date.now() + 120_000;
  while (phase() !== 'Succeeded' || !about().some((r) => r.resource === 'events')) {
    if (Date.now() > deadline) throw new Error(`SnapshotRequest ${name}: ${phase() ?? 'no phase'}`);
    await sleep(100);
  }
  const claims = Math.ceil(CLAIMS / POLICIES);
  const byKey = new Map<string, number>();
  for (const r of about()) {
    const key = `${r.verb} ${r.resource}`;
    byKey.set(key, (byKey.get(key) ?? 0) + 1);
  }
  console.log(`on demand: one SnapshotRequest over ${claims} claims, created → Succeeded:`);
  for (const [key, n] of [...byKey].sort((a, b) => b[1] - a[1])) {
    line(`  ${key} (${n})`, (n / claims).toFixed(3));
  }
  const total = about().length;
  line(
    `requests per claim, + 1 delete at expiry (${total})`,
    (total / claims + 1).toFixed(3),
    '≤ 3',
  );
}

/** Sleeps until halfway between two ticks (every SCHEDULE_S seconds, on multiples of it). */
async function midwayBetweenTicks(): Promise<void> {
  const period = SCHEDULE_S * 1000;
  await sleep((period / 2 - (Date.now() % period) + period) % period);
}

/** Finished runs of the policies (any result). */
async function finishedRuns(url: string, policies: string[]): Promise<number> {
  let total = 0;
  for (const policy of policies) {
    const response = await fetch(
      `${url}/api/v1/runs?policy=${encodeURIComponent(policy)}&limit=500`,
    );
    const { items } = (await response.json()) as { items: { state: string }[] };
    total += items.filter((r) => r.state !== 'running' && r.state !== 'pending').length;
  }
  return total;
}

await main();
