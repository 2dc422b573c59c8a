import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeSim, type KubeSim } from '../k8s-sim/index.js';
import { describeWithKubectl, kubectl } from './kubectl-runner.js';
import { hookManifests, HOOKS, renderHook } from './pre-upgrade-hook-render.js';

/** What `helm template` makes of the three values the hook uses. */
const render = (): Promise<string> => renderHook(HOOKS.api);

describe('the pre-upgrade hook manifest', () => {
  it('is a pre-upgrade Job that runs snapwarden snapshot --wait for the release', async () => {
    const docs = hookManifests(await render());
    const job = docs.find((d) => d.kind === 'Job');
    expect(job?.metadata.annotations).toMatchObject({
      'helm.sh/hook': 'pre-upgrade',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    const container = job?.spec?.template.spec.containers[0];
    expect(container?.command.join(' ')).toBe(
      'node dist/apps/cli/src/main.js snapshot -n default -l app.kubernetes.io/instance=shop ' +
        '--reason pre-upgrade 2.4.0 --wait --timeout 10m',
    );
    expect(job?.spec?.backoffLimit).toBe(0);
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'Job']);
  });
});

describeWithKubectl('the pre-upgrade hook against the simulator')(
  'the pre-upgrade hook against the simulator',
  () => {
    let sim: KubeSim;
    let dir: string;

    beforeAll(async () => {
      sim = await startKubeSim();
      dir = await mkdtemp(join(tmpdir(), 'snapwarden-hook-'));
      await sim.writeKubeconfig(join(dir, 'kubeconfig'));
    });
    afterAll(async () => {
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('applies cleanly with kubectl once rendered', async () => {
      await writeFile(join(dir, 'hook.yaml'), await render());
      const args = [`--kubeconfig=${join(dir, 'kubeconfig')}`, `--cache-dir=${join(dir, 'cache')}`];
      const applied = await kubectl([...args, 'apply', '-f', join(dir, 'hook.yaml')]);
      expect(applied.stderr).toBe('');
      expect(applied.stdout).toContain('serviceaccount/shop-pre-upgrade-snapshot created');
      expect(applied.stdout).toContain('job.batch/shop-pre-upgrade-snapshot created');
      const job = await kubectl([...args, 'get', 'job', 'shop-pre-upgrade-snapshot', '-o', 'json']);
      expect(JSON.parse(job.stdout).metadata.annotations['helm.sh/hook']).toBe('pre-upgrade');
    });
  },
);
