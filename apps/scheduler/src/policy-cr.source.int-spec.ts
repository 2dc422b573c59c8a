import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { KubeClient, loadKubeConfig } from '#lib/kube';
import { CsiDriver, MemoryDriver, type VolumeQuery } from '#lib/storage';
import { KubePolicyStatus } from '#lib/runtime';
import {
  eventually,
  startKubeSim,
  type KubeObject,
  type KubeSim,
} from '../../../test/k8s-sim/index.js';
import { PolicyCrSource } from './policy-cr.source.js';
import { classCaps } from './policy-source.factory.js';

const API = 'snapwarden.io/v1alpha1';
const RESULT = { applied: [], removed: [], invalid: [], upserted: [] };

describe('PolicyCrSource against the API-server simulator', () => {
  let sim: KubeSim;
  let dir: string;
  let source: PolicyCrSource;
  let kube: KubeClient;
  let driver: CsiDriver;

  beforeAll(async () => {
    sim = await startKubeSim();
    await sim.loadCrdsFromDir('deploy/crds');
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-crsource-'));
    await sim.writeKubeconfig(join(dir, 'kubeconfig'));
    kube = new KubeClient(loadKubeConfig({ kubeconfigPath: join(dir, 'kubeconfig') }));
    sim.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    sim.store.seed({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: { name: 'everest-snap' },
      driver: 'disk.csi.everest.io',
      deletionPolicy: 'Delete',
    });
    driver = new CsiDriver({ kube });
    source = new PolicyCrSource(kube, {
      context: { defaultDriver: 'csi', maxSnapshotsPerVolume: () => undefined },
      status: new KubePolicyStatus(kube, 'test'),
      caps: classCaps(driver),
      logger: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await source.close();
    await driver.close();
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function policy(name: string, spec: Record<string, unknown>): KubeObject {
    return sim.store.seed({
      apiVersion: API,
      kind: 'BackupPolicy',
      metadata: { name, namespace: 'shop' },
      spec: { schedule: '0 2 * * *', claimNames: ['db'], ...spec },
    });
  }

  function statusOf(name: string) {
    return sim.store.read(API, 'BackupPolicy', name, 'shop')?.status as
      | { conditions?: { type: string; status: string; reason: string; message: string }[] }
      | undefined;
  }

  it('loads each custom resource under its uid and names the source, and reports invalid specs by field', async () => {
    const good = policy('good', { retention: { keepLast: 3 } });
    policy('zone', { retention: { keepLast: 3 }, timeZone: 'Mars/Olympus' });
    policy('toobig', { retention: { keepLast: 7 }, snapshotClassName: 'everest-snap' });

    const desired = await source.load();
    expect(desired.policies.map((p) => [p.source, p.policy.metadata.uid])).toEqual([
      ['kubernetes:shop/good', good.metadata.uid],
    ]);
    expect(desired.problems.map((p) => [p.source, p.key, p.errors[0]?.field])).toEqual([
      ['kubernetes:shop/toobig', 'shop/toobig', 'spec.retention'],
      ['kubernetes:shop/zone', 'shop/zone', 'spec.timeZone'],
    ]);

    await source.reconciled(desired, RESULT, new Date());
    expect(statusOf('good')?.conditions).toEqual([
      expect.objectContaining({ type: 'Ready', status: 'True' }),
      expect.objectContaining({ type: 'Scheduled', status: 'True' }),
    ]);
    expect(statusOf('zone')?.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'InvalidSpec',
      message: expect.stringContaining('spec.timeZone') as string,
    });
    expect(statusOf('toobig')?.conditions?.[0]?.message).toMatch(/spec\.retention: .*cap is 7/);
    const warnings = sim.store
      .items('v1', 'Event', 'shop')
      .filter((e) => e.reason === 'InvalidSpec' && e.type === 'Warning');
    expect(warnings).toHaveLength(2);
  });

  it('writes nothing when the status already says it, and notices changes through its watch', async () => {
    const mark = sim.requestLog.mark();
    await source.reconciled(await source.load(), RESULT, new Date());
    expect(sim.requestLog.count('patch', 'backuppolicies/status', mark)).toBe(0);

    let changes = 0;
    source.watch(() => (changes += 1));
    policy('later', { retention: { keepLast: 2 } });
    await eventually(() => Promise.resolve(changes > 0 ? true : undefined));
    expect(source.notReadyReason()).toBeUndefined();
  });

  it('keeps the nextRunTime a run end wrote while that run may be in flight, and replaces it after a grace', async () => {
    const next = () =>
      (sim.store.read(API, 'BackupPolicy', 'good', 'shop')?.status as { nextRunTime?: string })
        .nextRunTime;
    const due = Date.parse(next() ?? '');
    expect(due).not.toBeNaN();
    const patches = (mark: number) =>
      sim.requestLog
        .since(mark)
        .filter((r) => r.verb === 'patch' && r.resource === 'backuppolicies/status')
        .filter((r) => r.name === 'good').length;
    const mark = sim.requestLog.mark();
    await source.reconciled(await source.load(), RESULT, new Date(due + 60_000));
    expect(patches(mark)).toBe(0);
    await source.reconciled(await source.load(), RESULT, new Date(due + 6 * 60_000));
    expect(patches(mark)).toBe(1);
    expect(Date.parse(next() ?? '')).toBeGreaterThan(due);
  });

  it('warns in the status when a policy names claims that do not exist', async () => {
    const withVolumes = new PolicyCrSource(kube, {
      context: { defaultDriver: 'csi', maxSnapshotsPerVolume: () => undefined },
      status: new KubePolicyStatus(kube, 'test'),
      logger: pino({ level: 'silent' }),
      volumes: () => Promise.resolve([]),
    });
    try {
      await withVolumes.reconciled(await withVolumes.load(), RESULT, new Date());
      expect(statusOf('good')?.conditions).toContainEqual(
        expect.objectContaining({
          type: 'VolumesSelected',
          status: 'False',
          reason: 'ClaimsNotFound',
          message: expect.stringContaining('db') as string,
        }),
      );
    } finally {
      await withVolumes.close();
    }
  });

  it('asks the volume index for the volumes of each policy, and finds the named claim', async () => {
    const driver = new MemoryDriver();
    driver.addVolume({ namespace: 'shop', name: 'db' });
    driver.addVolume({ namespace: 'blog', name: 'db' });
    const queries: VolumeQuery[] = [];
    const withVolumes = new PolicyCrSource(kube, {
      context: { defaultDriver: 'csi', maxSnapshotsPerVolume: () => undefined },
      status: new KubePolicyStatus(kube, 'test'),
      logger: pino({ level: 'silent' }),
      volumes: (query) => {
        queries.push(query);
        return driver.findVolumes(query);
      },
    });
    try {
      await withVolumes.reconciled(await withVolumes.load(), RESULT, new Date());
      expect(queries).toContainEqual({ namespace: 'shop', names: ['db'] });
      expect(statusOf('good')?.conditions).toContainEqual(
        expect.objectContaining({
          type: 'VolumesSelected',
          status: 'True',
          message: '1 volume(s) selected',
        }),
      );
    } finally {
      await withVolumes.close();
      await driver.close();
    }
  });
});
