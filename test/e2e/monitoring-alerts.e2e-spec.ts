import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const FILE = join(process.cwd(), 'deploy', 'monitoring', 'alerts.yaml');

describe('the example alert rules', () => {
  it('parse as a Prometheus rules file with the documented alerts', async () => {
    const doc = parse(await readFile(FILE, 'utf8')) as {
      groups: { name: string; rules: Rule[] }[];
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual([
      'SnapwardenNoRecentReadySnapshot',
      'SnapwardenVolumeAtCap',
      'SnapwardenRunsFailing',
      'SnapwardenQueueStalled',
    ]);
    for (const rule of rules) {
      expect(rule.expr.trim()).not.toBe('');
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(rule.labels?.severity).toMatch(/^(warning|critical)$/);
      expect(rule.annotations?.summary).toBeTruthy();
    }
  });

  it('only use series the app exports', async () => {
    const text = await readFile(FILE, 'utf8');
    const used = new Set(text.match(/snapwarden_[a-z_]+/g));
    const exported = [
      'snapwarden_volume_seconds_since_last_ready_snapshot',
      'snapwarden_volume_policy_interval_seconds',
      'snapwarden_volume_snapshots',
      'snapwarden_volume_snapshot_cap',
      'snapwarden_runs_total',
      'snapwarden_queue_jobs',
      'snapwarden_queue_stalled_jobs_total',
    ];
    expect([...used].filter((name) => !exported.includes(name))).toEqual([]);
  });
});
