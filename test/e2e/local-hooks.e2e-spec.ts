import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDriver } from '#lib/storage';
import { eventually, getJson, startApp, type AppProcess } from '../support/app-process.js';
import { postJson, settled, type SnapshotRequestView } from '../support/kube-requests.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { makeVolume } from '../support/volumes.js';

const TOKEN = 'e2e-local-hooks-token-0123456789';
const MARKER = '.snapwarden-hook-marker';

interface Page<T> {
  items: T[];
}

interface HookEvent {
  type: string;
  snapshot?: string;
  error?: string;
  attributes?: Record<string, string | number | boolean>;
}

/** A policy whose pre hook writes a marker into the volume and whose post hook removes it. */
const POLICY = `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: marked
spec:
  schedule: '*/2 * * * * *'
  claimNames: [app]
  retention:
    keepLast: 2
  hooks:
    pre:
      - name: mark
        command: [sh, -c, 'echo "$SNAPWARDEN_SNAPSHOT_NAME" > "$SNAPWARDEN_VOLUME_PATH/${MARKER}"; echo marked $SNAPWARDEN_VOLUME_NAME']
    post:
      - name: unmark
        command: [sh, -c, 'rm "$SNAPWARDEN_VOLUME_PATH/${MARKER}"']
`;

describe('local mode: hooks are host commands around each snapshot', () => {
  let dir: string;
  let dataDir: string;
  let redis: TestRedis;
  let app: AppProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-hooks-'));
    dataDir = join(dir, 'data');
    await mkdir(join(dir, 'policies'), { recursive: true });
    await makeVolume(dataDir, 'app', { suite: 'hooks' }, 4096);
    await makeVolume(dataDir, 'other', { suite: 'hooks' }, 4096);
    await writeFile(join(dir, 'policies', 'marked.yaml'), POLICY);
    redis = await startTestRedis();
    app = await startApp({
      REDIS_URL: redis.url,
      SNAPWARDEN_DATA_DIR: dataDir,
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
      SNAPWARDEN_API_TOKEN: TOKEN,
    });
  }, 30_000);

  afterAll(async () => {
    await app?.kill();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function hookEvents(snapshot: string): Promise<HookEvent[]> {
    const page = await getJson<Page<HookEvent>>(app, '/api/v1/events?namespace=default&limit=500');
    // Newest first on the wire.
    return page.items
      .filter((e) => e.type.startsWith('hook.') && e.snapshot === snapshot)
      .reverse();
  }

  it('the marker written by the pre hook is in the snapshot, and the post hook removed it from the volume', async () => {
    const runs = await eventually(
      async () => {
        const page = await getJson<Page<{ volumes: { snapshot?: string; state: string }[] }>>(
          app,
          '/api/v1/runs?policy=default/marked&state=succeeded',
        );
        return page.items.length > 0 ? page.items : undefined;
      },
      30_000,
      'a succeeded run of default/marked',
    );
    const snapshot = runs[0]?.volumes[0]?.snapshot ?? '';
    const events = await hookEvents(snapshot);
    expect(events.map((e) => `${e.type} ${String(e.attributes?.hook)}`)).toEqual([
      'hook.started mark',
      'hook.succeeded mark',
      'hook.started unmark',
      'hook.succeeded unmark',
    ]);
    expect(events[1]?.attributes).toMatchObject({
      exitCode: 0,
      target: 'host',
      output: 'marked app',
    });
    expect(existsSync(join(dataDir, 'volumes', 'app', MARKER))).toBe(false);
    // Read the snapshot back the way users do: a restore through the driver.
    const driver = new LocalDriver({ dataDir });
    try {
      await driver.restoreToNewVolume({
        snapshot: { namespace: 'default', name: snapshot },
        target: { namespace: 'default', name: 'restored' },
      });
    } finally {
      await driver.close();
    }
    const marker = await readFile(join(dataDir, 'volumes', 'restored', MARKER), 'utf8');
    expect(marker.trim()).toBe(snapshot);
  }, 45_000);

  async function request(name: string, hooks: Record<string, unknown>) {
    const posted = await postJson(
      app,
      '/api/v1/snapshot-requests',
      { metadata: { namespace: 'default', name }, spec: { claimNames: ['other'], hooks } },
      TOKEN,
    );
    expect(posted.status).toBe(201);
    return settled<SnapshotRequestView>(app, `/api/v1/snapshot-requests/default/${name}`, 30_000);
  }

  it('a failing pre hook fails the volume with its output; a hanging one is killed at its timeout, and post hooks still run', async () => {
    const post = join(dir, 'post-ran');
    const late = join(dir, 'late');
    const failed = await request('refused', {
      pre: [{ name: 'check', command: ['sh', '-c', 'echo no space left >&2; exit 4'] }],
      post: [{ name: 'after', command: ['touch', post] }],
    });
    expect(failed.phase).toBe('Failed');
    expect(failed.message).toContain('pre hook "check" failed in host: exit code 4: no space left');
    expect(existsSync(post)).toBe(true);
    await rm(post);

    const hung = await request('hung', {
      pre: [{ name: 'slow', command: ['sh', '-c', `sleep 3; touch ${late}`], timeoutSeconds: 1 }],
      post: [{ name: 'after', command: ['touch', post] }],
    });
    expect(hung.phase).toBe('Failed');
    expect(hung.message).toContain('pre hook "slow" failed in host: timed out after 1s (killed)');
    expect(existsSync(post)).toBe(true);
    const missing = await request('missing', {
      pre: [{ name: 'nope', command: ['/no/such/command'], onError: 'Continue' }],
    });
    expect(missing.phase).toBe('Succeeded');
    // The killed group took the shell's sleep with it: nothing touches the file later.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(existsSync(late)).toBe(false);
  }, 45_000);
});
