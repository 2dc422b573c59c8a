import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startApp, type AppProcess } from '../support/app-process.js';
import { makeVolume } from '../support/volumes.js';

const POLICY = `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: metered
spec:
  schedule: '*/2 * * * * *'
  selector:
    matchLabels:
      suite: metrics
  retention:
    keepLast: 2
`;

describe('GET /metrics', () => {
  let dir: string;
  let app: AppProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-metrics-'));
    await mkdir(join(dir, 'policies'));
    await makeVolume(join(dir, 'data'), 'alpha', { suite: 'metrics' }, 4096);
    await writeFile(join(dir, 'policies', 'metered.yaml'), POLICY);
    app = await startApp({
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
    });
  });

  afterAll(async () => {
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const scrape = async () => {
    const response = await fetch(`${app.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  };

  it('counts runs and operation durations from the audit log, and volumes against their cap', async () => {
    const text = await eventually(
      async () => {
        const body = await scrape();
        return /snapwarden_runs_total\{policy="default\/metered",result="succeeded"\} [1-9]/.test(
          body,
        ) && body.includes('snapwarden_operation_duration_seconds_count{operation="ready"}')
          ? body
          : undefined;
      },
      20_000,
      'a succeeded run in the metrics',
    );
    expect(text).toMatch(/snapwarden_volume_snapshots\{namespace="default",volume="alpha"\} [0-9]/);
    expect(text).toMatch(
      /snapwarden_volume_snapshot_cap\{namespace="default",volume="alpha"\} [0-9]/,
    );
    expect(text).toMatch(
      /snapwarden_volume_seconds_since_last_ready_snapshot\{namespace="default",volume="alpha"\} [0-9.]+/,
    );
    expect(text).toContain(
      'snapwarden_volume_policy_interval_seconds{namespace="default",volume="alpha"} 2',
    );
    expect(text).toContain('snapwarden_policy_interval_seconds{policy="default/metered"} 2');
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      expect(text).toMatch(new RegExp(`snapwarden_queue_jobs\\{queue="[^"]+",state="${state}"\\}`));
    }
    expect(text).toContain('# TYPE snapwarden_queue_stalled_jobs_total counter');
    expect(text).toContain('# TYPE snapwarden_missed_runs_total counter');
    const volumes = (await (await fetch(`${app.url}/api/v1/volumes`)).json()) as {
      items: { name: string; policyIntervalSeconds?: number }[];
    };
    expect(volumes.items.find((v) => v.name === 'alpha')?.policyIntervalSeconds).toBe(2);
  });
});
