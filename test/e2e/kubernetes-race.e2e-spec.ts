import type { KubeObject } from '../k8s-sim/index.js';
import type { StoreEvent } from '../k8s-sim/store.js';
import { eventually, type AppProcess } from '../support/app-process.js';
import {
  EVEREST,
  SNAPSHOT_API,
  sleep,
  startKubeCluster,
  untilRuns,
  type KubeCluster,
} from '../support/kube-cluster.js';
import {
  auditEvents,
  postJson,
  settled,
  type SnapshotRequestView,
} from '../support/kube-requests.js';
import { expectSettledWithReasons, overlappingOperations } from '../support/race-checks.js';

const TOKEN = 'e2e-kube-race-token-0123456789abcdef';
const CLAIMS = ['db-0', 'db-1', 'db-2'];
const POLICY = 'shop/fast';
const CAP = 7;
const ON_DEMAND_LABEL = 'snapwarden.io/on-demand';
const MANAGED_BY = 'app.kubernetes.io/managed-by';

interface VolumeSnapshot extends KubeObject {
  spec: { source: { persistentVolumeClaimName?: string } };
  status?: { readyToUse?: boolean; error?: { message?: string } };
}

/** Who fires which on-demand request, and in which wave (a wave's requests go concurrently). */
const WAVES: { name: string; claims: string[] }[][] = [
  [
    { name: 'burst-a', claims: ['db-0', 'db-1', 'db-2'] },
    { name: 'burst-b', claims: ['db-0'] },
    { name: 'burst-c', claims: ['db-1', 'db-0'] },
  ],
  [
    { name: 'burst-d', claims: ['db-0', 'db-2'] },
    { name: 'burst-e', claims: ['db-2'] },
  ],
  [{ name: 'burst-f', claims: ['db-0', 'db-1', 'db-2'] }],
  // db-0 now asks for a 6th and 7th on-demand snapshot: with the newest scheduled snapshot
  // (never rotated) that is 8 > 7, so at least one of these must be refused, not squeezed in.
  [
    { name: 'burst-g', claims: ['db-0'] },
    { name: 'burst-h', claims: ['db-0', 'db-1'] },
  ],
];

/**
 * Watches every VolumeSnapshot change in the simulator, in commit order, and records what must
 * never happen: more than the cap on a claim (terminating ones included), a snapwarden snapshot
 * created while another of snapwarden's snapshots of the same claim is still in flight, and a
 * snapwarden snapshot the provider refused (the everest rules below fail a second snapshot in
 * progress on a disk, and one over the cap).
 */
class SnapshotObserver {
  readonly peak = new Map<string, number>();
  readonly overlaps: string[] = [];
  readonly errors: string[] = [];
  readonly created: string[] = [];
  private readonly current = new Map<string, VolumeSnapshot>();

  onEvent(event: StoreEvent): void {
    const vs = event.object as VolumeSnapshot;
    const name = vs.metadata.name ?? '';
    const claim = vs.spec.source.persistentVolumeClaimName ?? '';
    if (event.type === 'DELETED') {
      this.current.delete(name);
      return;
    }
    if (event.type === 'ADDED' && isOurs(vs)) {
      this.created.push(name);
      const inFlight = [...this.current.values()].filter(
        (o) =>
          isOurs(o) &&
          o.spec.source.persistentVolumeClaimName === claim &&
          o.status?.readyToUse !== true &&
          o.status?.error === undefined &&
          o.metadata.deletionTimestamp === undefined,
      );
      for (const other of inFlight) {
        this.overlaps.push(`${claim}: ${name} created while ${other.metadata.name} not ready`);
      }
    }
    if (isOurs(vs) && vs.status?.error?.message !== undefined) {
      this.errors.push(`${name}: ${vs.status.error.message}`);
    }
    this.current.set(name, vs);
    const held = [...this.current.values()].filter(
      (o) => o.spec.source.persistentVolumeClaimName === claim,
    ).length;
    this.peak.set(claim, Math.max(this.peak.get(claim) ?? 0, held));
  }
}

function isOurs(vs: VolumeSnapshot): boolean {
  return vs.metadata.labels?.[MANAGED_BY] === 'snapwarden';
}

describe('kubernetes mode: on-demand requests racing a fast scheduled policy (everest, cap 7)', () => {
  let cluster: KubeCluster;
  let app: AppProcess;

  beforeAll(async () => {
    cluster = await startKubeCluster({
      // Slow enough that operations on one disk would overlap if they could; and the provider
      // fails a second snapshot in progress on a disk, as EVS does.
      snapshotReadyDelayMs: 250,
      drivers: {
        [EVEREST]: {
          maxSnapshotsPerVolume: CAP,
          restoreRequiresEqualCapacity: true,
          oneSnapshotInProgressPerVolume: true,
        },
      },
    });
    await cluster.boundClaims(CLAIMS, { app: 'shop' });
  }, 30_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('never crosses the cap, never runs two operations on one claim, settles every request and rotates no on-demand snapshot', async () => {
    const { sim, namespace: ns } = cluster;
    const observer = new SnapshotObserver();
    const resource = sim.store.key(sim.store.resourceFor(SNAPSHOT_API, 'VolumeSnapshot'));
    const unsubscribe = sim.store.objects.subscribe(resource, (e) => observer.onEvent(e));
    // A second, independent look: poll the store every 50 ms.
    let polledPeak = 0;
    const poller = setInterval(() => {
      for (const claim of CLAIMS)
        polledPeak = Math.max(polledPeak, cluster.snapshotsOf(claim).length);
    }, 50);
    const mark = sim.requestLog.mark();

    const fired: string[] = [];
    try {
      cluster.createPolicy('fast', {
        schedule: '*/1 * * * * *',
        selector: { matchLabels: { app: 'shop' } },
        snapshotClassName: 'everest-snap',
        retention: { keepLast: 5 },
        reservedSlots: 1,
      });
      app = await cluster.startApp({ SNAPWARDEN_API_TOKEN: TOKEN });
      // Five runs fill keepLast; from the sixth on, every run rotates.
      await untilRuns(app, POLICY, 'succeeded', 6, 20_000);
      const firstRequest = sim.requestLog.mark();

      for (const wave of WAVES) {
        const answers = await Promise.all(
          wave.map((r) =>
            postJson(
              app,
              '/api/v1/snapshot-requests',
              {
                metadata: { namespace: ns, name: r.name },
                spec: { claimNames: r.claims, ttl: '1h', reason: 'race e2e' },
              },
              TOKEN,
            ),
          ),
        );
        expect(answers.map((a) => a.status)).toEqual(wave.map(() => 201));
        fired.push(...wave.map((r) => r.name));
        await sleep(1200);
      }

      // Every request ends, Succeeded or Failed with its reason; none is left Running.
      const views = await Promise.all(
        fired.map((name) =>
          settled<SnapshotRequestView>(app, `/api/v1/snapshot-requests/${ns}/${name}`, 20_000),
        ),
      );
      // Keep the schedule running a little longer: rotation sees every on-demand snapshot.
      const finishedRuns = async () =>
        (await auditEvents(app, { policy: POLICY, kind: 'run.finished' })).length;
      const seen = await finishedRuns();
      await eventually(
        async () => ((await finishedRuns()) >= seen + 3 ? true : undefined),
        10_000,
        'three more finished runs',
      );
      const audit = await auditEvents(app, { namespace: ns });
      expect(await app.stop()).toBe(0);

      for (const view of views) expectSettledWithReasons(view);
      const ready = views.flatMap((v) =>
        v.snapshots.filter((s) => s.readyToUse).map((s) => s.snapshotName ?? ''),
      );
      process.stdout.write(
        `race: ${views.filter((v) => v.phase === 'Succeeded').length}/${views.length} requests ` +
          `succeeded, ${ready.length} on-demand snapshots ready, peak per claim ` +
          `${JSON.stringify(Object.fromEntries(observer.peak))}, ${observer.created.length} ` +
          `snapshots created, deleted after the first request: ` +
          `${sim.requestLog.since(firstRequest).filter((r) => r.verb === 'delete').length}, ` +
          `blocked: ${audit.filter((e) => e.type === 'snapshot.blocked').length}; e.g. ` +
          `${views.find((v) => v.phase === 'Failed')?.message ?? 'no request failed'}\n`,
      );
      expect(ready.length).toBeGreaterThan(0);
      // db-0 could not hold seven on-demand snapshots: the refusal names the cap.
      const db0 = views.flatMap((v) => v.snapshots.filter((s) => s.claim === 'db-0'));
      expect(db0.filter((s) => s.readyToUse).length).toBeLessThanOrEqual(CAP - 1);
      expect(db0.filter((s) => !s.readyToUse).map((s) => s.error)).toContainEqual(
        expect.stringMatching(/limit|cap/i),
      );

      // The cap, from every commit and from polling: terminating snapshots count too.
      for (const claim of CLAIMS) expect(observer.peak.get(claim) ?? 0).toBeLessThanOrEqual(CAP);
      expect(polledPeak).toBeLessThanOrEqual(CAP);
      // One operation in flight per claim, from the cluster's side and from the audit log.
      expect(observer.overlaps).toEqual([]);
      expect(observer.errors).toEqual([]);
      expect(overlappingOperations(audit)).toEqual([]);
      // Every snapshot snapwarden created was seen by the observer (the request log agrees).
      const createdByLog = sim.requestLog
        .since(mark)
        .filter((r) => r.verb === 'create' && r.resource === 'volumesnapshots' && r.status === 201)
        .map((r) => r.name);
      expect(createdByLog.length).toBe(observer.created.length);

      // On-demand snapshots carry the on-demand label, still exist, and none was deleted.
      for (const name of ready) {
        const vs = sim.store.read(SNAPSHOT_API, 'VolumeSnapshot', name, ns) as
          VolumeSnapshot | undefined;
        expect(vs?.metadata.labels?.[ON_DEMAND_LABEL]).toBeTruthy();
        expect(vs?.metadata.deletionTimestamp).toBeUndefined();
      }
      const onDemandNames = new Set(
        views.flatMap((v) => v.snapshots.map((s) => s.snapshotName ?? '')),
      );
      const deleted = audit.filter((e) => e.type === 'snapshot.deleted');
      expect(deleted.filter((e) => onDemandNames.has(e.snapshot ?? ''))).toEqual([]);
      // Rotation was busy meanwhile: scheduled snapshots were deleted.
      expect(deleted.length).toBeGreaterThan(0);
    } finally {
      clearInterval(poller);
      unsubscribe();
    }
  }, 60_000);
});
