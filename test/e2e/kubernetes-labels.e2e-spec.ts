import { isLabelValue, labelValue } from '#lib/policy';
import type { KubeObject } from '../k8s-sim/index.js';
import { eventually, type AppProcess } from '../support/app-process.js';
import {
  POLICY_API,
  SNAPSHOT_API,
  startKubeCluster,
  runsOf,
  type KubeCluster,
  type SnapshotObject,
} from '../support/kube-cluster.js';

/** StatefulSet claim names: `<template>-<statefulset>-<ordinal>`, often past 63 characters. */
const LONG = 'data-postgresql-ha-postgresql-primary-0-with-a-very-long-release-name-prod-eu-1';
const LONGEST = `data.${'x'.repeat(200)}.shard-${'y'.repeat(36)}-0`;
const CLAIMS = [LONG, LONGEST, 'db-0'];
const FINISHED = ['succeeded', 'partial', 'failed'];

interface RequestObject extends KubeObject {
  status?: { phase?: string; message?: string };
}

/**
 * Every label value snapwarden writes is a valid label value, on the scheduled and the on-demand
 * path, against a simulator that answers 422 to an invalid one like a real API server.
 */
describe('kubernetes mode: label values for long claim names', () => {
  let cluster: KubeCluster;
  let app: AppProcess;

  beforeAll(async () => {
    expect(LONG.length).toBeGreaterThan(63);
    expect(LONGEST.length).toBeLessThanOrEqual(253);
    cluster = await startKubeCluster();
    await cluster.boundClaims(CLAIMS, { app: 'pg' });
    cluster.createPolicy('pg-every-2s', {
      schedule: '*/2 * * * * *',
      selector: { matchLabels: { app: 'pg' } },
      snapshotClassName: 'everest-snap',
      retention: { keepLast: 3 },
    });
    app = await cluster.startApp();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('the simulator rejects a label value over 63 characters with 422', async () => {
    const response = await fetch(
      `${cluster.sim.url}/apis/${SNAPSHOT_API}/namespaces/${cluster.namespace}/volumesnapshots`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          apiVersion: SNAPSHOT_API,
          kind: 'VolumeSnapshot',
          metadata: { name: 'too-long-label', labels: { 'snapwarden.io/volume': LONG } },
          spec: { source: { persistentVolumeClaimName: LONG } },
        }),
      },
    );
    expect(response.status).toBe(422);
  });

  it('a scheduled run snapshots every claim, labelled with a valid, hashed volume label', async () => {
    const policy = `${cluster.namespace}/pg-every-2s`;
    const run = await eventually(
      async () => (await runsOf(app, policy)).find((r) => FINISHED.includes(r.state)),
      30_000,
      'a finished run',
    );
    expect({ state: run.state, volumes: run.volumes.map((v) => v.error ?? v.state) }).toEqual({
      state: 'succeeded',
      volumes: ['succeeded', 'succeeded', 'succeeded'],
    });
    for (const claim of CLAIMS) {
      const snapshots = cluster.managedSnapshotsOf(claim);
      expect(snapshots.length).toBeGreaterThan(0);
      for (const snapshot of snapshots) expectValidMeta(snapshot, claim);
    }
  }, 40_000);

  it('an on-demand snapshot of the long claims succeeds with valid labels', async () => {
    const name = `before-upgrade-${'z'.repeat(60)}`;
    cluster.sim.store.seed({
      apiVersion: POLICY_API,
      kind: 'SnapshotRequest',
      metadata: { name, namespace: cluster.namespace },
      spec: { claimNames: [LONG, LONGEST], ttl: '1h' },
    });
    const request = await eventually(
      () => {
        const obj: RequestObject | undefined = cluster.sim.store.read(
          POLICY_API,
          'SnapshotRequest',
          name,
          cluster.namespace,
        );
        const phase = obj?.status?.phase;
        return Promise.resolve(phase === 'Succeeded' || phase === 'Failed' ? obj : undefined);
      },
      30_000,
      'SnapshotRequest finished',
    );
    expect(request.status).toMatchObject({ phase: 'Succeeded' });
    for (const claim of [LONG, LONGEST]) {
      const onDemand = cluster
        .managedSnapshotsOf(claim)
        .filter((s) => s.metadata.labels?.['snapwarden.io/on-demand'] !== undefined);
      expect(onDemand).toHaveLength(1);
      expectValidMeta(onDemand[0]!, claim);
      expect(onDemand[0]!.metadata.labels?.['snapwarden.io/on-demand']).toBe(labelValue(name));
    }
  }, 40_000);
});

function expectValidMeta(snapshot: SnapshotObject, claim: string): void {
  const labels = snapshot.metadata.labels ?? {};
  expect(labels['snapwarden.io/volume']).toBe(labelValue(claim));
  for (const [key, value] of Object.entries(labels)) {
    expect({ key, value, valid: isLabelValue(value) }).toEqual({ key, value, valid: true });
  }
  expect(snapshot.metadata.name?.length).toBeLessThanOrEqual(253);
}
