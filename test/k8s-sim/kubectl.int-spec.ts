import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startKubeSim, type KubeSim } from './server.js';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const kubectlFound = !spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error;
if (!kubectlFound) console.warn('k8s-sim kubectl tests skipped: kubectl is not on PATH');
const describeWithKubectl = kubectlFound ? describe : describe.skip;

describeWithKubectl('k8s-sim with kubectl', () => {
  let sim: KubeSim;
  let dir: string;

  const kubectl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(
      'kubectl',
      [`--kubeconfig=${join(dir, 'kubeconfig')}`, `--cache-dir=${join(dir, 'cache')}`, ...args],
      { timeout: 20000 },
    );
    return stdout;
  };
  const kubectlFails = async (...args: string[]): Promise<string> => {
    try {
      await kubectl(...args);
    } catch (error) {
      return (error as { stderr?: string }).stderr ?? '';
    }
    throw new Error(`kubectl ${args.join(' ')} should have failed`);
  };

  beforeAll(async () => {
    sim = await startKubeSim();
    dir = await mkdtemp(join(tmpdir(), 'k8s-sim-kubectl-'));
    await sim.writeKubeconfig(join(dir, 'kubeconfig'));
  });
  afterAll(async () => {
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies a CRD and an object of it, and prints its printer columns by short name', async () => {
    const crdFile = join(FIXTURES, 'samplepolicies.example.snapwarden.io.yaml');
    expect(await kubectl('apply', '-f', crdFile)).toContain(
      'customresourcedefinition.apiextensions.k8s.io/samplepolicies.example.snapwarden.io created',
    );
    await kubectl(
      'wait',
      '--for=condition=Established',
      'crd/samplepolicies.example.snapwarden.io',
      '--timeout=10s',
    );
    const objectFile = join(FIXTURES, 'samplepolicy.yaml');
    expect(await kubectl('apply', '-f', objectFile)).toContain(
      'samplepolicy.example.snapwarden.io/nightly created',
    );
    const table = await kubectl('get', 'spol');
    const [header, row] = table.trim().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'NAME',
      'SCHEDULE',
      'KEEP',
      'SUSPEND',
      'READY',
      'AGE',
    ]);
    // Missing cells (no status yet) print empty, as with a real server.
    expect(row).toMatch(/^nightly\s+0 2 \* \* \*\s+5\s+false\s+\d+s$/);
  });

  it('re-applies changes as a patch and reports unchanged objects', async () => {
    const edited = join(dir, 'policy.yaml');
    const original = await readFile(join(FIXTURES, 'samplepolicy.yaml'), 'utf8');
    expect(await kubectl('apply', '-f', join(FIXTURES, 'samplepolicy.yaml'))).toContain(
      'unchanged',
    );
    await writeFile(edited, original.replace('keepLast: 5', 'keepLast: 6'));
    expect(await kubectl('apply', '-f', edited)).toContain('configured');
    expect(
      await kubectl(
        'get',
        'samplepolicy',
        'nightly',
        '-o',
        'jsonpath={.spec.retention.keepLast} {.metadata.generation}',
      ),
    ).toBe('6 2');
    await writeFile(edited, original.replace('keepLast: 5', 'keepLast: 50'));
    expect(await kubectlFails('apply', '-f', edited)).toContain(
      'spec.retention.keepLast: Invalid value: 50',
    );
    await writeFile(edited, original.replace('keepLast: 5', 'keepLast: 5\n  bogus: true'));
    expect(await kubectlFails('apply', '-f', edited)).toContain('unknown field "spec.bogus"');
  });

  it('lists volume snapshots across namespaces with their printer columns', async () => {
    expect(await kubectl('get', 'volumesnapshots', '-A')).toBe('');
    sim.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    sim.store.seed({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'before-upgrade', namespace: 'shop' },
      spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'csi-snap' },
    });
    const [header, row] = (await kubectl('get', 'volumesnapshots', '-A')).trim().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'NAMESPACE',
      'NAME',
      'READYTOUSE',
      'SOURCEPVC',
      'SOURCESNAPSHOTCONTENT',
      'RESTORESIZE',
      'SNAPSHOTCLASS',
      'SNAPSHOTCONTENT',
      'CREATIONTIME',
      'AGE',
    ]);
    expect(row).toMatch(/^shop\s+before-upgrade\s+false\s+data\s+csi-snap\s+\d+s$/);
    expect(await kubectl('get', 'vs', '-n', 'shop', '-o', 'name')).toBe(
      'volumesnapshot.snapshot.storage.k8s.io/before-upgrade\n',
    );
  });

  it('creates, labels, patches, describes and deletes built-in objects', async () => {
    const file = join(dir, 'settings.yaml');
    await writeFile(
      file,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: "1"\n',
    );
    await kubectl('create', '-f', file);
    await kubectl('label', 'configmap', 'settings', 'tier=db');
    expect(await kubectl('get', 'cm', '-l', 'tier=db', '-o', 'name')).toBe('configmap/settings\n');
    await kubectl('patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"b":"2"}}');
    await kubectl(
      'patch',
      'configmap',
      'settings',
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/data/a"}]',
    );
    expect(await kubectl('get', 'cm', 'settings', '-o', 'jsonpath={.data}')).toBe('{"b":"2"}');
    expect(await kubectl('describe', 'configmap', 'settings')).toContain('tier=db');
    expect(await kubectl('delete', 'configmap', 'settings')).toContain(
      'configmap "settings" deleted',
    );
    expect(await kubectlFails('get', 'configmap', 'settings')).toContain(
      'configmaps "settings" not found',
    );
  });

  it('runs the generators that send protobuf: create namespace, configmap, secret, serviceaccount', async () => {
    await kubectl('create', 'namespace', 'gen');
    await kubectl('create', 'configmap', 'cfg', '-n', 'gen', '--from-literal=a=1');
    await kubectl(
      'create',
      'secret',
      'generic',
      'pw',
      '-n',
      'gen',
      '--from-literal=password=hunter2',
    );
    await kubectl('create', 'serviceaccount', 'robot', '-n', 'gen');
    expect(await kubectl('get', 'cm,secret,sa', '-n', 'gen', '-o', 'name')).toBe(
      'configmap/cfg\nsecret/pw\nserviceaccount/robot\n',
    );
    const secret = await kubectl(
      'get',
      'secret',
      'pw',
      '-n',
      'gen',
      '-o',
      'jsonpath={.type} {.data.password}',
    );
    expect(secret).toBe(`Opaque ${Buffer.from('hunter2').toString('base64')}`);
    expect(await kubectl('delete', 'namespace', 'gen')).toContain('namespace "gen" deleted');
  });

  it('server-side applies', async () => {
    const file = join(dir, 'ssa.yaml');
    await writeFile(
      file,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: "1"\n',
    );
    expect(await kubectl('apply', '--server-side', '-f', file)).toContain(
      'configmap/ssa serverside-applied',
    );
    await writeFile(
      file,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: "2"\n',
    );
    await kubectl('apply', '--server-side', '-f', file);
    expect(await kubectl('get', 'cm', 'ssa', '-o', 'jsonpath={.data.a}')).toBe('2');
  });
});
