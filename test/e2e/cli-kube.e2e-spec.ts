import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startKubeSim, type KubeObject, type KubeSim } from '../k8s-sim/index.js';
import { runCli, type CliResult } from '../support/cli-process.js';

/*
 * `snapwarden snapshot|restore --kube` against the API-server simulator, without snapwarden
 * running: the CLI creates SnapshotRequest/RestoreRequest objects and, with --wait, reads their
 * status. Where a test writes a status through the simulator it stands in for snapwarden's
 * scheduler (the request controller), which is tested end to end with the app elsewhere.
 */

const API_VERSION = 'snapwarden.io/v1alpha1';
const NS = 'shop';

interface RequestObject extends KubeObject {
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

describe('snapwarden snapshot/restore --kube create the custom resources (simulator, no app)', () => {
  let sim: KubeSim;
  let dir: string;
  let kubeconfig: string;

  beforeAll(async () => {
    sim = await startKubeSim();
    await sim.loadCrdsFromDir('deploy/crds');
    sim.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-cli-kube-'));
    kubeconfig = join(dir, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
  });

  afterAll(async () => {
    await sim?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  afterEach(() => sim.faults.reset());

  const snapshotRequests = () =>
    sim.store.items(API_VERSION, 'SnapshotRequest', NS) as RequestObject[];
  const restoreRequests = () =>
    sim.store.items(API_VERSION, 'RestoreRequest', NS) as RequestObject[];
  const readRequest = (kind: string, name: string) =>
    sim.store.read(API_VERSION, kind, name, NS) as RequestObject | undefined;

  /** `snapwarden snapshot --kubeconfig K -n shop <args>`. */
  const snapshot = (...args: string[]) =>
    runCli(['snapshot', '--kubeconfig', kubeconfig, '-n', NS, ...args]);
  const restore = (snap: string, ...args: string[]) =>
    runCli(['restore', snap, '--kubeconfig', kubeconfig, '-n', NS, ...args]);

  /** Runs `cli`, expecting it to exit 2 naming `problem` and to send no create at all. */
  async function refused(cli: Promise<CliResult>, problem: RegExp): Promise<void> {
    const mark = sim.requestLog.mark();
    const before = [snapshotRequests().length, restoreRequests().length];
    const result = await cli;
    expect([result.code, result.stderr]).toEqual([2, expect.stringMatching(problem)]);
    expect(sim.requestLog.count('create', undefined, mark)).toBe(0);
    expect([snapshotRequests().length, restoreRequests().length]).toEqual(before);
  }

  /** Resolves once the CLI has read the request `times` more times (so it saw the last write). */
  async function polled(resource: string, times = 2): Promise<void> {
    const mark = sim.requestLog.mark();
    await eventually(
      () => sim.requestLog.count('get', resource, mark) >= times,
      10_000,
      `${times} reads of ${resource} by the CLI`,
    );
  }

  /** Starts a `--wait` CLI run and resolves with the request object once it exists. */
  async function started(kind: string, name: string, cli: Promise<CliResult>) {
    const request = await eventually(() => readRequest(kind, name), 10_000, `${kind} ${name}`);
    return { request, cli };
  }

  /** The member at `path` of a JSON object (arrays indexed by number strings). */
  function field(value: unknown, ...path: string[]): Record<string, unknown> {
    let current = value;
    for (const key of path) current = (current as Record<string, unknown>)[key];
    if (typeof current !== 'object' || current === null) throw new Error(`no ${path.join('.')}`);
    return current as Record<string, unknown>;
  }

  const condition = (status: string, reason: string, message: string) => ({
    type: 'Ready',
    status,
    reason,
    message,
    lastTransitionTime: new Date().toISOString(),
  });

  describe('snapshot', () => {
    it('creates a SnapshotRequest with exactly the spec the flags describe, and the CLI label', async () => {
      const result = await snapshot('-l', 'app=shop', '--reason', 'x', '--ttl', '72h');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const name = /snapshot request shop\/(snapreq-[0-9a-f]{8}) created/.exec(result.stdout)?.[1];
      expect(name).toBeDefined();
      const request = readRequest('SnapshotRequest', name ?? '');
      expect(request?.spec).toEqual({
        selector: { matchLabels: { app: 'shop' } },
        reason: 'x',
        ttl: '72h',
        timeoutSeconds: 600,
      });
      expect(request?.metadata.labels).toEqual({
        'app.kubernetes.io/created-by': 'snapwarden-cli',
      });
    });

    it('sends claims by name and the --timeout as spec.timeoutSeconds, under --name', async () => {
      const result = await snapshot(
        '--claim',
        'a',
        '--claim',
        'b',
        '--name',
        'by-name',
        '--timeout',
        '90s',
      );
      expect(result.code).toBe(0);
      expect(readRequest('SnapshotRequest', 'by-name')?.spec).toEqual({
        claimNames: ['a', 'b'],
        timeoutSeconds: 90,
        ttl: '168h', // the CRD's default, applied by the API server
      });
    });

    it('finds the cluster through $KUBECONFIG with --kube, and switches contexts with --context', async () => {
      const other = join(dir, 'named-context');
      await sim.writeKubeconfig(other, { name: 'sim-ctx' });
      const viaEnv = await runCli(
        ['snapshot', '--kube', '-n', NS, '--claim', 'a', '--name', 'via-env'],
        { KUBECONFIG: other },
      );
      expect([viaEnv.code, viaEnv.stderr]).toEqual([0, '']);
      expect(readRequest('SnapshotRequest', 'via-env')).toBeDefined();
      const named = await runCli(
        ['snapshot', '--kube', '--context', 'sim-ctx', '-n', NS, '--claim', 'a', '--name', 'ctx'],
        { KUBECONFIG: other },
      );
      expect([named.code, named.stderr]).toEqual([0, '']);
      await refused(
        runCli(['snapshot', '--kube', '--context', 'nope', '-n', NS, '--claim', 'a'], {
          KUBECONFIG: other,
        }),
        /--context nope: no such context \(known: sim-ctx\)/,
      );
      await refused(
        runCli(['snapshot', '--kubeconfig', join(dir, 'missing'), '-n', NS, '--claim', 'a']),
        /--kubeconfig .*missing/,
      );
    });

    it('refuses bad input with exit code 2 naming the problem, creating nothing', async () => {
      await refused(snapshot('--claim', 'a', '--ttl', 'soon'), /spec\.ttl: /);
      await refused(snapshot('-l', 'app=shop', '--claim', 'a'), /-l\/--selector and --claim/);
      await refused(snapshot('--reason', 'neither'), /-l\/--selector and --claim/);
      await refused(snapshot('-l', 'app in ('), /-l\/--selector: /);
      await refused(
        snapshot('--claim', 'a', '--name', 'Bad_Name'),
        /--name "Bad_Name": metadata\.name/,
      );
      await refused(
        runCli(['snapshot', '--kube', '--server', sim.url, '-n', NS, '--claim', 'a']),
        /--server and --token/,
      );
      await refused(snapshot('--claim', 'a', '--token', 'secret'), /--server and --token/);
      await refused(
        runCli(['snapshot', '--context', 'sim', '-n', NS, '--claim', 'a']),
        /--context .*--kube/,
      );
    });

    it('exits 2 when the namespace does not exist or the name is taken', async () => {
      const missing = await runCli([
        'snapshot',
        '--kubeconfig',
        kubeconfig,
        '-n',
        'nowhere',
        '--claim',
        'a',
      ]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/namespaces "nowhere" not found/);
      expect(sim.store.items(API_VERSION, 'SnapshotRequest', 'nowhere')).toEqual([]);

      expect((await snapshot('--claim', 'a', '--name', 'taken')).code).toBe(0);
      const again = await snapshot('--claim', 'b', '--name', 'taken');
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/metadata\.name: SnapshotRequest shop\/taken already exists/);
      expect(readRequest('SnapshotRequest', 'taken')?.spec.claimNames).toEqual(['a']);
    });

    it('exits 2 naming the field when the API server finds the request invalid (a stricter CRD)', async () => {
      const crdType = sim.store.resourceFor('apiextensions.k8s.io/v1', 'CustomResourceDefinition');
      const crdName = 'snapshotrequests.snapwarden.io';
      const original = sim.store.read(
        'apiextensions.k8s.io/v1',
        'CustomResourceDefinition',
        crdName,
      );
      const stricter = structuredClone(original);
      const schema = field(stricter, 'spec', 'versions', '0', 'schema', 'openAPIV3Schema');
      field(schema, 'properties', 'spec', 'properties', 'reason').maxLength = 5;
      sim.store.update(crdType, undefined, crdName, stricter);
      try {
        const result = await snapshot('--claim', 'a', '--reason', 'longer than five');
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(
          /refused SnapshotRequest shop\/snapreq-[0-9a-f]{8}: spec\.reason: /,
        );
      } finally {
        const current = sim.store.read(
          'apiextensions.k8s.io/v1',
          'CustomResourceDefinition',
          crdName,
        );
        sim.store.update(crdType, undefined, crdName, {
          ...original,
          metadata: { ...original?.metadata, resourceVersion: current?.metadata.resourceVersion },
        });
      }
      expect((await snapshot('--claim', 'a', '--reason', 'longer than five')).code).toBe(0);
    });

    it('exits 1 naming the server when the create fails with 500s', async () => {
      sim.faults.failNext({
        verb: 'create',
        resource: 'snapshotrequests',
        status: 500,
        times: 10,
      });
      const result = await snapshot('--claim', 'a', '--name', 'server-error');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `cannot create SnapshotRequest shop/server-error on ${sim.url}`,
      );
      expect(result.stderr).toMatch(/500 InternalError/);
      expect(readRequest('SnapshotRequest', 'server-error')).toBeUndefined();
    });

    it('exits 1 naming the server when nothing listens there', async () => {
      const dead = join(dir, 'dead');
      const { createServer } = await import('node:net');
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      await new Promise((resolve) => server.close(resolve));
      await (
        await import('node:fs/promises')
      ).writeFile(dead, sim.kubeconfig().replace(sim.url, `http://127.0.0.1:${port}`));
      const result = await runCli(['snapshot', '--kubeconfig', dead, '-n', NS, '--claim', 'a']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`http://127.0.0.1:${port}`);
    });

    it('--wait prints a progress line once per claim change and exits 0 when it succeeded', async () => {
      const { request, cli } = await started(
        'SnapshotRequest',
        'wait-ok',
        snapshot('--claim', 'db', '--claim', 'files', '--name', 'wait-ok', '--wait'),
      );
      await polled('snapshotrequests');
      sim.store.writeStatus(request, {
        phase: 'Running',
        snapshots: [
          { claim: 'db', readyToUse: false, state: 'running' },
          { claim: 'files', readyToUse: false, state: 'pending' },
        ],
      });
      await polled('snapshotrequests');
      sim.store.writeStatus(request, {
        phase: 'Running',
        snapshots: [
          { claim: 'db', snapshotName: 'wait-ok-db', readyToUse: true, state: 'succeeded' },
          { claim: 'files', readyToUse: false, state: 'running' },
        ],
      });
      await polled('snapshotrequests');
      sim.store.writeStatus(request, {
        phase: 'Succeeded',
        snapshots: [
          { claim: 'db', snapshotName: 'wait-ok-db', readyToUse: true, state: 'succeeded' },
          { claim: 'files', snapshotName: 'wait-ok-files', readyToUse: true, state: 'succeeded' },
        ],
        message: '2 of 2 snapshots ready',
        conditions: [condition('True', 'Succeeded', '2 of 2 snapshots ready')],
      });
      const result = await cli;
      expect([result.code, result.stderr]).toEqual([0, '']);
      expect(result.stdout.trim().split('\n')).toEqual([
        'db: running',
        'files: pending',
        'db: ready (wait-ok-db)',
        'files: running',
        'files: ready (wait-ok-files)',
        'snapshot request shop/wait-ok succeeded: 2 of 2 snapshots ready',
      ]);
    });

    it('--wait exits 1 naming the claim that failed', async () => {
      const { request, cli } = await started(
        'SnapshotRequest',
        'wait-failed',
        snapshot('--claim', 'db', '--claim', 'files', '--name', 'wait-failed', '--wait'),
      );
      sim.store.writeStatus(request, {
        phase: 'Failed',
        snapshots: [
          { claim: 'db', snapshotName: 'wait-failed-db', readyToUse: true, state: 'succeeded' },
          { claim: 'files', readyToUse: false, state: 'failed', error: 'volume not found' },
        ],
        message: '1 of 2 snapshots failed: files (volume not found)',
        conditions: [condition('False', 'Failed', '1 of 2 snapshots failed')],
      });
      const result = await cli;
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('files: failed: volume not found');
      expect(result.stderr).toMatch(/snapshot request shop\/wait-failed failed \(claims: files\)/);
      expect(result.stderr).not.toMatch(/claims: .*db/);
    });

    it('--wait exits 3 when snapwarden reports DeadlineExceeded', async () => {
      const { request, cli } = await started(
        'SnapshotRequest',
        'wait-deadline',
        snapshot('--claim', 'db', '--name', 'wait-deadline', '--wait', '--timeout', '30s'),
      );
      expect(request.spec.timeoutSeconds).toBe(30);
      sim.store.writeStatus(request, {
        phase: 'Failed',
        snapshots: [{ claim: 'db', readyToUse: false, state: 'running' }],
        message: 'timed out after 30s; not ready: db',
        conditions: [condition('False', 'DeadlineExceeded', 'timed out after 30s')],
      });
      const result = await cli;
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/timed out \(claims: db\): timed out after 30s; not ready: db/);
    });

    it('--wait exits 3 after --timeout and its grace when nothing ever reports a status', async () => {
      const result = await snapshot(
        '--claim',
        'db',
        '--name',
        'nobody',
        '--wait',
        '--timeout',
        '2s',
      );
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(
        /timed out after 4s waiting for snapshot request shop\/nobody \(still Pending\)/,
      );
      expect(readRequest('SnapshotRequest', 'nobody')?.status).toBeUndefined();
    });

    it('--output json prints the status with namespace and name, created and final', async () => {
      const created = await snapshot('--claim', 'db', '--name', 'json-created', '-o', 'json');
      expect(created.code).toBe(0);
      expect(JSON.parse(created.stdout)).toEqual({ namespace: NS, name: 'json-created' });

      const { request, cli } = await started(
        'SnapshotRequest',
        'json-final',
        snapshot('--claim', 'db', '--name', 'json-final', '--wait', '-o', 'json'),
      );
      const status = {
        phase: 'Succeeded',
        snapshots: [
          { claim: 'db', snapshotName: 'json-final-db', readyToUse: true, state: 'succeeded' },
        ],
        message: '1 of 1 snapshots ready',
        conditions: [condition('True', 'Succeeded', '1 of 1 snapshots ready')],
      };
      sim.store.writeStatus(request, status);
      const result = await cli;
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ namespace: NS, name: 'json-final', ...status });
    });
  });

  describe('restore', () => {
    it('creates a NewVolume RestoreRequest with the target the flags describe', async () => {
      const result = await restore('snap-1', '--to', 'new', '--size', '10Gi');
      expect([result.code, result.stderr]).toEqual([0, '']);
      const name = /restore shop\/(restore-[0-9a-f]{8}) created/.exec(result.stdout)?.[1];
      const request = readRequest('RestoreRequest', name ?? '');
      expect(request?.spec).toEqual({
        snapshotName: 'snap-1',
        mode: 'NewVolume',
        target: { claimName: 'new', size: '10Gi' },
        // Defaulted by the CRD schema.
        quiesce: 'None',
      });
      expect(request?.metadata.labels).toEqual({
        'app.kubernetes.io/created-by': 'snapwarden-cli',
      });
    });

    it('creates a Rollback RestoreRequest without a target', async () => {
      const result = await restore('snap-1', '--rollback', '--name', 'roll');
      expect(result.code).toBe(0);
      expect(readRequest('RestoreRequest', 'roll')?.spec).toEqual({
        snapshotName: 'snap-1',
        mode: 'Rollback',
        quiesce: 'None',
      });
      const quiesced = await restore(
        'snap-1',
        '--rollback',
        '--quiesce',
        'ScaleDown',
        '--name',
        'q',
      );
      expect(quiesced.code).toBe(0);
      expect(readRequest('RestoreRequest', 'q')?.spec).toMatchObject({ quiesce: 'ScaleDown' });
    });

    it('refuses bad input with exit code 2 naming the problem, creating nothing', async () => {
      await refused(restore('snap-1', '--to', 'new', '--rollback'), /--to CLAIM and --rollback/);
      await refused(restore('snap-1'), /--to CLAIM and --rollback/);
      await refused(restore('snap-1', '--to', 'new', '--size', 'ten'), /spec\.target\.size: /);
      await refused(restore('snap-1', '--rollback', '--size', '10Gi'), /--size .*only with --to/);
      await refused(restore('Bad_Snap', '--to', 'new'), /spec\.snapshotName: /);
      await refused(
        restore('snap-1', '--to', 'new', '--access-mode', 'Sometimes'),
        /spec\.target\.accessModes/,
      );
    });

    it('--wait exits 1 naming the broken rule when the restore failed', async () => {
      const { request, cli } = await started(
        'RestoreRequest',
        'too-small',
        restore('snap-1', '--to', 'new', '--size', '1Gi', '--name', 'too-small', '--wait'),
      );
      sim.store.writeStatus(request, {
        phase: 'Failed',
        field: 'spec.target.size',
        message: 'requested 1Gi is less than the snapshot restoreSize 10Gi',
        conditions: [condition('False', 'RestoreRuleViolated', 'spec.target.size')],
      });
      const result = await cli;
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /restore shop\/too-small failed \(spec\.target\.size\): requested 1Gi is less/,
      );
    });

    it('--wait exits 0 with the restored claim once the restore succeeded', async () => {
      const { request, cli } = await started(
        'RestoreRequest',
        'restored',
        restore('snap-1', '--to', 'new-2', '--name', 'restored', '--wait', '-o', 'json'),
      );
      sim.store.writeStatus(request, {
        phase: 'Succeeded',
        claimName: 'new-2',
        message: 'restored snap-1 into new-2',
      });
      const result = await cli;
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        namespace: NS,
        name: 'restored',
        phase: 'Succeeded',
        claimName: 'new-2',
      });
    });
  });
});
