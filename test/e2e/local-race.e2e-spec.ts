import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startApp, type AppProcess } from '../support/app-process.js';
import { sleep } from '../support/kube-cluster.js';
import {
  auditEvents,
  postJson,
  settled,
  type SnapshotRequestView,
} from '../support/kube-requests.js';
import { expectSettledWithReasons, overlappingOperations } from '../support/race-checks.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { makeVolume } from '../support/volumes.js';

const TOKEN = 'e2e-local-race-token-0123456789abcdef';
const VOLUMES = ['db-0', 'db-1'];
const CAP = 7;
const POLICY = `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata: { name: fast, namespace: default }
spec:
  schedule: '*/1 * * * * *'
  selector: { matchLabels: { app: shop } }
  retention: { keepLast: 5 }
  reservedSlots: 1
`;

/**
 * Local mode, against the running app: on-demand requests fired at volumes that a policy
 * snapshots every second. The snapshots on disk are counted every 25 ms (a snapshot exists
 * exactly while its manifest does), and the audit log gives each operation's interval.
 */
describe('local mode: on-demand requests racing a scheduled policy on the same volumes', () => {
  let dir: string;
  let redis: TestRedis;
  let app: AppProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-race-'));
    // A few MiB per volume: archiving takes long enough for operations to overlap if they could.
    for (const name of VOLUMES) await makeVolume(join(dir, 'data'), name, { app: 'shop' }, 4 << 20);
    await mkdir(join(dir, 'policies'));
    redis = await startTestRedis();
  }, 30_000);

  afterAll(async () => {
    await app?.kill();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Snapshots per volume on disk right now. */
  async function onDisk(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const folder = join(dir, 'data', 'snapshots', 'default');
    const files = await readdir(folder).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.json'))) {
      try {
        const manifest = JSON.parse(await readFile(join(folder, file), 'utf8')) as {
          volumeName: string;
        };
        counts.set(manifest.volumeName, (counts.get(manifest.volumeName) ?? 0) + 1);
      } catch {
        // Deleted between readdir and readFile: it no longer counts.
      }
    }
    return counts;
  }

  it('never crosses the cap, never runs two operations on one volume, and settles every request', async () => {
    await writeFile(join(dir, 'policies', 'fast.yaml'), POLICY);
    app = await startApp({
      REDIS_URL: redis.url,
      SNAPWARDEN_QUEUE_PREFIX: 'sw-e2e-race',
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
      SNAPWARDEN_API_TOKEN: TOKEN,
      SNAPWARDEN_MAX_SNAPSHOTS_PER_VOLUME: String(CAP),
    });
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const n of (await onDisk()).values()) peak = Math.max(peak, n);
        await sleep(25);
      }
    })();
    const fired: string[] = [];
    try {
      // Five scheduled snapshots fill keepLast; from then on every run rotates.
      await eventually(
        async () => {
          const counts = await onDisk();
          return VOLUMES.every((v) => (counts.get(v) ?? 0) >= 5) ? true : undefined;
        },
        30_000,
        'keepLast filled',
      );
      // Eight requests per volume in waves of two at once: more than the cap can hold.
      for (let wave = 0; wave < 4; wave++) {
        const names = [`race-${wave}-a`, `race-${wave}-b`];
        const answers = await Promise.all(
          names.map((name) =>
            postJson(
              app,
              '/api/v1/snapshot-requests',
              {
                metadata: { namespace: 'default', name },
                spec: { claimNames: VOLUMES, ttl: '1h', reason: 'local race e2e' },
              },
              TOKEN,
            ),
          ),
        );
        expect(answers.map((a) => a.status)).toEqual([201, 201]);
        fired.push(...names);
        await sleep(1_000);
      }
      const views = await Promise.all(
        fired.map((name) =>
          settled<SnapshotRequestView>(app, `/api/v1/snapshot-requests/default/${name}`, 30_000),
        ),
      );
      await sleep(2_000); // a few more scheduled runs, each of which rotates
      sampling = false;
      await sampler;
      const audit = await auditEvents(app, { namespace: 'default' });

      for (const view of views) expectSettledWithReasons(view);
      expect(peak).toBeLessThanOrEqual(CAP);
      expect(peak).toBeGreaterThanOrEqual(CAP - 1); // the race did reach the cap
      expect(overlappingOperations(audit)).toEqual([]);
      // Some requests were refused at the cap, naming it.
      const refusals = views.flatMap((v) => v.snapshots.filter((s) => !s.readyToUse));
      expect(refusals.map((s) => s.error)).toContainEqual(expect.stringMatching(/limit|cap/i));
      // Every on-demand snapshot that became ready is still there; rotation took none.
      const ready = views.flatMap((v) =>
        v.snapshots.filter((s) => s.readyToUse).map((s) => s.snapshotName ?? ''),
      );
      expect(ready.length).toBeGreaterThan(0);
      const deleted = new Set(
        audit.filter((e) => e.type === 'snapshot.deleted').map((e) => e.snapshot),
      );
      expect(ready.filter((name) => deleted.has(name))).toEqual([]);
      expect(deleted.size).toBeGreaterThan(0); // rotation did run meanwhile
      const manifests = await readdir(join(dir, 'data', 'snapshots', 'default'));
      for (const name of ready) expect(manifests).toContain(`${name}.json`);
    } finally {
      sampling = false;
      await sampler;
    }
  }, 90_000);
});
