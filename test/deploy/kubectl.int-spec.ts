import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeSim, type KubeSim } from '../k8s-sim/index.js';
import {
  describeWithKubectl,
  kubectl as runKubectl,
  REPO_ROOT,
  type KubectlResult,
} from './kubectl-runner.js';

const EXAMPLES = 'deploy/kustomize/overlays/examples';
const FIXTURES = join(REPO_ROOT, 'test', 'deploy', 'fixtures');

describeWithKubectl('kubectl with the CRDs from deploy/, against the simulator')(
  'kubectl with the CRDs from deploy/, against the simulator',
  () => {
    let sim: KubeSim;
    let dir: string;

    const kubectl = (...args: string[]): Promise<KubectlResult> =>
      runKubectl([
        `--kubeconfig=${join(dir, 'kubeconfig')}`,
        `--cache-dir=${join(dir, 'cache')}`,
        ...args,
      ]);
    const kubectlOk = async (...args: string[]): Promise<string> => {
      const result = await kubectl(...args);
      if (!result.ok) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
      return result.stdout;
    };
    const policy = (name: string, spec: object) =>
      JSON.stringify({
        apiVersion: 'snapwarden.io/v1alpha1',
        kind: 'BackupPolicy',
        metadata: { name, namespace: 'default' },
        spec,
      });

    beforeAll(async () => {
      sim = await startKubeSim();
      dir = await mkdtemp(join(tmpdir(), 'snapwarden-kubectl-'));
      await sim.writeKubeconfig(join(dir, 'kubeconfig'));
    });
    afterAll(async () => {
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('applies the CRDs and they become Established', async () => {
      const out = await kubectlOk('apply', '-f', 'deploy/crds/');
      for (const plural of ['backuppolicies', 'snapshotrequests', 'restorerequests'])
        expect(out).toContain(
          `customresourcedefinition.apiextensions.k8s.io/${plural}.snapwarden.io created`,
        );
      await kubectlOk(
        'wait',
        '--for=condition=Established',
        'crd/backuppolicies.snapwarden.io',
        'crd/snapshotrequests.snapwarden.io',
        'crd/restorerequests.snapwarden.io',
        '--timeout=10s',
      );
    });

    it('applies the example policies and lists them by short name with the printer columns', async () => {
      const out = await kubectlOk('apply', '-f', `${EXAMPLES}/backuppolicies.yaml`);
      expect(out).toContain('backuppolicy.snapwarden.io/nightly created');
      const [header, ...rows] = (await kubectlOk('get', 'bp')).trim().split('\n');
      expect(header?.split(/\s{2,}/)).toEqual([
        'NAME',
        'SCHEDULE',
        'TIMEZONE',
        'SUSPEND',
        'LASTSUCCESS',
        'NEXT',
        'READY',
        'AGE',
      ]);
      // No status yet: its columns print empty, as on a real server; defaults were applied.
      expect(rows).toEqual([
        expect.stringMatching(/^hourly-db\s+@hourly\s+UTC\s+false\s+\d+s$/),
        expect.stringMatching(/^nightly\s+0 2 \* \* \*\s+Europe\/Berlin\s+false\s+\d+s$/),
      ]);
    });

    it('shows status through the printer columns once the status subresource is written', async () => {
      const status = {
        observedGeneration: 1,
        lastSuccessTime: new Date(Date.now() - 3_600_000).toISOString(),
        nextRunTime: new Date(Date.now() + 7_200_000).toISOString(),
        conditions: [
          { type: 'Scheduled', status: 'True', reason: 'Scheduled' },
          { type: 'Ready', status: 'True', reason: 'Valid', message: 'policy is valid' },
        ],
        lastRun: {
          id: 'r1',
          result: 'Succeeded',
          volumes: { total: 1, succeeded: 1, failed: 0, skipped: 0 },
        },
        missedRuns: 0,
      };
      await kubectlOk(
        'patch',
        'bp',
        'nightly',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status }),
      );
      expect(
        JSON.parse(await kubectlOk('get', 'bp', 'nightly', '-o', 'jsonpath={.status}')),
      ).toEqual(status);
      const row = (await kubectlOk('get', 'bp', 'nightly', '--no-headers')).trim();
      // Ready (`conditions[?(@.type=="Ready")]`) stays empty here: the simulator's printer
      // columns evaluate simple paths only, where a real API server applies the filter.
      expect(row).toMatch(
        /^nightly\s+0 2 \* \* \*\s+Europe\/Berlin\s+false\s+60m\s+\d{4}-\d\d-\d\dT\S+Z(\s+True)?\s+\d+s$/,
      );
    });

    it('lists volume snapshots in all namespaces', async () => {
      const result = await kubectl('get', 'volumesnapshots', '-A');
      expect(result.ok).toBe(true);
      expect(`${result.stdout}${result.stderr}`).toContain('No resources found');
    });

    it('lists every snapwarden resource through the category', async () => {
      expect(await kubectlOk('get', 'snapwarden', '-o', 'name')).toContain(
        'backuppolicy.snapwarden.io/nightly',
      );
    });

    it('rejects a policy with keepLast -1, naming the field', async () => {
      const file = join(dir, 'invalid.json');
      await writeFile(
        file,
        policy('broken', { schedule: '@daily', claimNames: ['a'], retention: { keepLast: -1 } }),
      );
      const result = await kubectl('apply', '-f', file);
      expect(result.ok).toBe(false);
      expect(result.stderr).toContain('spec.retention.keepLast');
      expect(result.stderr).toMatch(/should be greater than or equal to 0/);
    });

    it('rejects a policy without selector or claimNames and one with an unknown field', async () => {
      const noClaims = join(dir, 'no-claims.json');
      await writeFile(
        noClaims,
        policy('no-claims', { schedule: '@daily', retention: { keepLast: 1 } }),
      );
      expect((await kubectl('apply', '-f', noClaims)).ok).toBe(false);
      const unknown = join(dir, 'unknown.json');
      await writeFile(
        unknown,
        policy('unknown', {
          schedule: '@daily',
          claimNames: ['a'],
          retention: { keepLast: 1 },
          keepForever: true,
        }),
      );
      const result = await kubectl('apply', '-f', unknown);
      expect(result.ok).toBe(false);
      expect(result.stderr).toContain('unknown field "spec.keepForever"');
    });

    it('defaults a SnapshotRequest and shows its columns', async () => {
      const file = join(dir, 'snapreq.json');
      const request = (reason: string) =>
        JSON.stringify({
          apiVersion: 'snapwarden.io/v1alpha1',
          kind: 'SnapshotRequest',
          metadata: { name: 'pre-upgrade', namespace: 'default' },
          spec: { claimNames: ['shop-db'], reason },
        });
      await writeFile(file, request('shop 2.4'));
      await kubectlOk('apply', '-f', file);
      const spec = await kubectlOk(
        'get',
        'snapreq',
        'pre-upgrade',
        '-o',
        'jsonpath={.spec.ttl} {.spec.timeoutSeconds}',
      );
      expect(spec).toBe('168h 600');
      expect((await kubectlOk('get', 'snapreq')).split('\n')[0]?.split(/\s{2,}/)).toEqual([
        'NAME',
        'PHASE',
        'REASON',
        'AGE',
      ]);
    });

    it('requires a target for a NewVolume restore and refuses one for a Rollback', async () => {
      const restore = (name: string, spec: object) => {
        const file = join(dir, `${name}.json`);
        const body = {
          apiVersion: 'snapwarden.io/v1alpha1',
          kind: 'RestoreRequest',
          metadata: { name },
          spec,
        };
        return writeFile(file, JSON.stringify(body)).then(() => kubectl('apply', '-f', file));
      };
      expect((await restore('no-target', { snapshotName: 's1' })).stderr).toContain(
        'target is required',
      );
      expect(
        (
          await restore('rollback-target', {
            snapshotName: 's1',
            mode: 'Rollback',
            target: { claimName: 'x' },
          })
        ).stderr,
      ).toContain('not allowed for mode Rollback');
      expect(
        (
          await restore('ok', {
            snapshotName: 's1',
            target: { claimName: 'restored', size: '10Gi' },
          })
        ).ok,
      ).toBe(true);
      const [header, row] = (await kubectlOk('get', 'restorereq')).trim().split('\n');
      expect(header?.split(/\s{2,}/)).toEqual([
        'NAME',
        'SNAPSHOT',
        'MODE',
        'PHASE',
        'CLAIM',
        'AGE',
      ]);
      expect(row).toMatch(/^ok\s+s1\s+NewVolume\s+\d+s$/);
    });

    it('installs the kustomize base and the examples with apply -k', async () => {
      const base = await kubectlOk('apply', '-k', 'deploy/kustomize/base');
      for (const line of [
        'namespace/snapwarden-system created',
        'serviceaccount/snapwarden created',
        'clusterrole.rbac.authorization.k8s.io/snapwarden created',
        'configmap/snapwarden-config created',
        'deployment.apps/snapwarden-scheduler created',
        'deployment.apps/snapwarden-worker created',
        'deployment.apps/snapwarden-api created',
        'service/snapwarden-api created',
        'poddisruptionbudget.policy/snapwarden-worker created',
      ])
        expect(base).toContain(line);
      const examples = await kubectlOk('apply', '-k', 'deploy/kustomize/overlays/examples');
      expect(examples).toContain(
        'volumesnapshotclass.snapshot.storage.k8s.io/csi-disk-snapclass created',
      );
      const cap = await kubectlOk(
        'get',
        'volumesnapshotclass',
        'csi-disk-snapclass',
        '-o',
        'jsonpath={.metadata.annotations.snapwarden\\.io/max-snapshots-per-volume}',
      );
      expect(cap).toBe('7');
    });

    it('applies every other overlay over the installed base', async () => {
      await sim.loadCrdsFromDir(join(FIXTURES, 'prometheus-operator'));
      const applied: Record<string, string[]> = {
        'with-redis': [
          'service/snapwarden-redis created',
          'service/snapwarden-redis-headless created',
          'statefulset.apps/snapwarden-redis created',
        ],
        'with-monitoring': [
          'configmap/snapwarden-grafana-dashboard created',
          'servicemonitor.monitoring.coreos.com/snapwarden created',
          'prometheusrule.monitoring.coreos.com/snapwarden created',
        ],
        // Last: its ConfigMap (no REDIS_URL) is checked below.
        'with-redis-sentinel': ['configmap/snapwarden-config configured'],
      };
      const overlays = (await readdir(join(REPO_ROOT, 'deploy/kustomize/overlays'))).sort();
      expect(overlays).toEqual(['examples', ...Object.keys(applied)].sort());
      for (const [overlay, lines] of Object.entries(applied)) {
        const out = await kubectlOk('apply', '-k', `deploy/kustomize/overlays/${overlay}`);
        for (const line of lines)
          expect([overlay, out]).toEqual([overlay, expect.stringContaining(line)]);
      }
      const config = await kubectlOk(
        'get',
        'configmap',
        'snapwarden-config',
        '-n',
        'snapwarden-system',
        '-o',
        'jsonpath={.data}',
      );
      expect(JSON.parse(config)).not.toHaveProperty('REDIS_URL');
      expect(JSON.parse(config)).toHaveProperty('REDIS_SENTINEL_NAME', 'mymaster');
    });
  },
);
