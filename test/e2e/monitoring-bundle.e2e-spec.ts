import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { eventually, startApp, type AppProcess } from '../support/app-process.js';
import { makeVolume } from '../support/volumes.js';

const MONITORING = join(process.cwd(), 'deploy', 'monitoring');

interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string }[];
}
interface Panel {
  title: string;
  targets?: { expr: string }[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; definition?: string }[] };
}

const promtoolFound = !spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error;
if (!promtoolFound) {
  console.warn('promtool checks skipped: promtool is not on PATH (Debian package prometheus)');
}
const withPromtool = promtoolFound ? it : it.skip;

/** Runs promtool with `input` on stdin; resolves with its exit code and output. */
function promtool(args: string[], input = ''): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}

/** Series names a scrape exports: each family, with _bucket/_sum/_count for histograms. */
function exportedSeries(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const [, name = '', type] of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === 'histogram' || type === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    }
  }
  return names;
}

/** Every snapwarden_* series a PromQL expression reads. */
const seriesIn = (expr: string): string[] => expr.match(/\bsnapwarden_[a-z0-9_]+/g) ?? [];

async function alertGroups(): Promise<RuleGroup[]> {
  const doc = parse(await readFile(join(MONITORING, 'alerts.yaml'), 'utf8')) as {
    groups: RuleGroup[];
  };
  return doc.groups;
}

async function dashboard(): Promise<Dashboard> {
  return JSON.parse(
    await readFile(join(MONITORING, 'dashboards', 'snapwarden.json'), 'utf8'),
  ) as Dashboard;
}

describe('the monitoring bundle against a real /metrics scrape', () => {
  let dir: string;
  let app: AppProcess;
  let scrape: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-monitoring-'));
    await mkdir(join(dir, 'policies'));
    await makeVolume(join(dir, 'data'), 'alpha', { suite: 'monitoring' }, 4096);
    await writeFile(
      join(dir, 'policies', 'watched.yaml'),
      [
        'apiVersion: snapwarden.io/v1alpha1',
        'kind: BackupPolicy',
        'metadata:',
        '  name: watched',
        'spec:',
        "  schedule: '*/2 * * * * *'",
        '  selector:',
        '    matchLabels:',
        '      suite: monitoring',
        '  retention:',
        '    keepLast: 2',
        '',
      ].join('\n'),
    );
    app = await startApp({
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
    });
    // Once a run finished, every family has samples (durations, runs, volume gauges).
    scrape = await eventually(
      async () => {
        const body = await (await fetch(`${app.url}/metrics`)).text();
        return /snapwarden_runs_total\{[^}]*result="succeeded"\} [1-9]/.test(body) &&
          body.includes('snapwarden_volume_seconds_since_last_ready_snapshot{')
          ? body
          : undefined;
      },
      30_000,
      'a scrape after a succeeded run',
    );
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('exports prom-client defaults under one prefix, not snapwarden_process_process_*', () => {
    expect(scrape).toContain('# TYPE snapwarden_process_cpu_seconds_total counter');
    expect(scrape).toContain('# TYPE snapwarden_nodejs_eventloop_lag_seconds gauge');
    expect(scrape).not.toMatch(/snapwarden_process_(process|nodejs)_/);
  });

  it('exports every series a dashboard panel, variable or alert rule reads', async () => {
    const exported = exportedSeries(scrape);
    const board = await dashboard();
    const used = new Map<string, string[]>();
    const note = (where: string, expr: string) => {
      for (const name of seriesIn(expr)) used.set(name, [...(used.get(name) ?? []), where]);
    };
    for (const panel of board.panels) {
      expect([panel.title, panel.targets?.length ?? 0]).not.toEqual([panel.title, 0]);
      for (const target of panel.targets ?? []) note(`panel ${panel.title}`, target.expr);
    }
    for (const variable of board.templating.list) {
      note(`variable ${variable.name}`, variable.definition ?? '');
    }
    for (const rule of (await alertGroups()).flatMap((g) => g.rules)) {
      note(`rule ${rule.alert ?? rule.record ?? ''}`, rule.expr);
    }
    expect(used.size).toBeGreaterThan(5);
    const missing = [...used].filter(([name]) => !exported.has(name));
    expect(missing).toEqual([]);
  });

  it('has the panels the bundle promises', async () => {
    const titles = (await dashboard()).panels.map((p) => p.title);
    expect(titles).toEqual([
      'Runs by result',
      'Missed runs',
      'RPO per volume against its policy interval',
      'Snapshots against the cap',
      'Queue depth',
      'Operation durations (p50, p95)',
    ]);
  });

  it('ships the alerts of alerts.yaml unchanged as the PrometheusRule', async () => {
    const rule = parse(await readFile(join(MONITORING, 'prometheusrule.yaml'), 'utf8')) as {
      kind: string;
      spec: { groups: RuleGroup[] };
    };
    expect(rule.kind).toBe('PrometheusRule');
    expect(rule.spec.groups).toEqual(await alertGroups());
  });

  withPromtool('passes promtool check metrics', async () => {
    const result = await promtool(['check', 'metrics'], scrape);
    expect([result.code, result.output.trim()]).toEqual([0, '']);
  });

  withPromtool(
    'passes promtool check rules, as a rules file and as the PrometheusRule',
    async () => {
      const plain = await promtool(['check', 'rules', join(MONITORING, 'alerts.yaml')]);
      expect([plain.code, plain.output]).toEqual([0, expect.stringContaining('SUCCESS: 4 rules')]);
      const rule = parse(await readFile(join(MONITORING, 'prometheusrule.yaml'), 'utf8')) as {
        spec: unknown;
      };
      const file = join(dir, 'prometheusrule-spec.yaml');
      await writeFile(file, JSON.stringify(rule.spec));
      const wrapped = await promtool(['check', 'rules', file]);
      expect([wrapped.code, wrapped.output]).toEqual([
        0,
        expect.stringContaining('SUCCESS: 4 rules'),
      ]);
    },
  );
});
