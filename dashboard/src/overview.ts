import { getJson } from './api.js';
import { durationChart, runsPerDayChart } from './charts.js';
import { badge, el, link, table } from './dom.js';
import { when } from './format.js';
import type { DailyCounts, Page, Policy, Run, VolumeView } from './types.js';

const DAY_MS = 86_400_000;

/** Why a volume is at risk, or nothing. */
export function risks(volume: VolumeView, failing: Set<string>, now = Date.now()): string[] {
  const reasons: string[] = [];
  const readyAge = volume.lastReadyTime ? now - Date.parse(volume.lastReadyTime) : Infinity;
  const interval = volume.policyIntervalSeconds;
  if (interval !== undefined && readyAge > 2 * interval * 1000) {
    reasons.push('no ready snapshot within twice the policy interval');
  } else if (interval === undefined && readyAge > DAY_MS) {
    reasons.push('no ready snapshot in 24 h');
  }
  if (volume.snapshots >= volume.cap) reasons.push('at its cap');
  if (failing.has(`${volume.namespace}/${volume.name}`)) reasons.push('last run failed');
  return reasons;
}

/** Volumes whose latest run in `runs` (newest first) failed for them. */
function failingVolumes(runs: Run[]): Set<string> {
  const seen = new Set<string>();
  const failing = new Set<string>();
  for (const run of runs) {
    for (const v of run.volumes) {
      const key = v.volume.includes('/') ? v.volume : `${run.namespace}/${v.volume}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (v.state === 'failed') failing.add(key);
    }
  }
  return failing;
}

/** The overview: policies with their next run and last result, volumes at risk, charts. */
export async function renderOverview(root: HTMLElement): Promise<void> {
  const [policies, volumes, recent, daily] = await Promise.all([
    getJson<{ items: Policy[] }>('/api/v1/policies'),
    getJson<{ items: VolumeView[] }>('/api/v1/volumes'),
    getJson<Page<Run>>('/api/v1/runs', { limit: '500' }),
    getJson<{ items: DailyCounts[] }>('/api/v1/stats/runs-per-day'),
  ]);
  const lastRun = (key: string) =>
    recent.items.find((r) => r.policy === key && r.state !== 'running');
  const policyRows = policies.items.map((p) => {
    const last = lastRun(p.key);
    return [
      link(`/runs?policy=${encodeURIComponent(p.key)}`, p.key),
      p.spec.schedule,
      p.spec.timeZone ?? 'UTC',
      p.spec.suspend ? 'suspended' : when(p.nextRunTime),
      last ? badge(last.state) : '—',
    ];
  });
  const failing = failingVolumes(recent.items);
  const atRisk = volumes.items
    .map((v) => ({ v, reasons: risks(v, failing) }))
    .filter((x) => x.reasons.length > 0);
  const riskRows = atRisk.map(({ v, reasons }) => [
    link(
      `/volumes/${encodeURIComponent(v.namespace)}/${encodeURIComponent(v.name)}`,
      `${v.namespace}/${v.name}`,
    ),
    `${v.snapshots} / ${v.cap}`,
    when(v.lastReadyTime),
    reasons.join(', '),
  ]);
  const volumeRows = volumes.items.map((v) => [
    link(
      `/volumes/${encodeURIComponent(v.namespace)}/${encodeURIComponent(v.name)}`,
      `${v.namespace}/${v.name}`,
    ),
    Object.entries(v.labels)
      .map(([k, val]) => `${k}=${val}`)
      .join(', '),
    `${v.snapshots} / ${v.cap}`,
    when(v.lastReadyTime),
  ]);
  const perDay = el('canvas', {
    attrs: { id: 'chart-runs-per-day', role: 'img', 'aria-label': 'Runs per day by result' },
  });
  const durations = el('canvas', {
    attrs: { id: 'chart-durations', role: 'img', 'aria-label': 'Run duration percentiles per day' },
  });
  root.replaceChildren(
    el('h2', { text: 'Overview' }),
    table('Policies', ['Policy', 'Schedule', 'Time zone', 'Next run', 'Last result'], policyRows),
    atRisk.length > 0
      ? table('Volumes at risk', ['Volume', 'Snapshots / cap', 'Last ready', 'Why'], riskRows)
      : el('p', { text: 'No volume at risk.', attrs: { id: 'no-risk' } }),
    table('Volumes', ['Volume', 'Labels', 'Snapshots / cap', 'Last ready'], volumeRows),
    el('section', { className: 'charts' }, [
      el('figure', {}, [perDay, el('figcaption', { text: 'Runs per day by result (14 days)' })]),
      el('figure', {}, [
        durations,
        el('figcaption', { text: 'Run duration percentiles (last 500 runs)' }),
      ]),
    ]),
  );
  runsPerDayChart(perDay, daily.items);
  durationChart(durations, recent.items);
}
