import type { Chart } from 'chart.js';
import { getJson } from './api.js';
import { durationChart, runsPerDayChart, updateDurations, updateRunsPerDay } from './charts.js';
import { badge, el, link, section, swap, table } from './dom.js';
import { LOCAL_ZONE, timeEl } from './format.js';
import type { DailyCounts, Page, Policy, PolicyProblem, Run, VolumeView } from './types.js';
import type { View } from './view.js';

const DAY_MS = 86_400_000;
const TIMELINE_RUNS = 20;

/** Why a volume selected by a policy is at risk, or nothing. */
export function risks(volume: VolumeView, now = Date.now()): string[] {
  const reasons: string[] = [];
  const readyAge = volume.lastReadyTime ? now - Date.parse(volume.lastReadyTime) : Infinity;
  const interval = volume.policyIntervalSeconds;
  if (interval !== undefined && readyAge > 2 * interval * 1000) {
    reasons.push('no ready snapshot within twice the policy interval');
  } else if (interval === undefined && readyAge > DAY_MS) {
    reasons.push('no ready snapshot in 24 h');
  }
  if (volume.snapshots >= volume.cap) reasons.push('at its cap');
  if (volume.lastResult?.state === 'failed')
    reasons.push(`last ${volume.lastResult.kind} run failed`);
  return reasons;
}

/** Whether a policy selects the volume; a volume no policy selects is unprotected. */
export function isProtected(volume: VolumeView): boolean {
  return (volume.policies ?? []).length > 0;
}

const volumeLink = (v: VolumeView) =>
  link(
    `/volumes/${encodeURIComponent(v.namespace)}/${encodeURIComponent(v.name)}`,
    `${v.namespace}/${v.name}`,
  );

export const policyLink = (key: string) => {
  const [namespace = '', name = ''] = key.split('/');
  return link(`/policies/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`, key);
};

interface OverviewData {
  policies: Policy[];
  problems: PolicyProblem[];
  volumes: VolumeView[];
  recent: Run[];
  lastDay: Omit<DailyCounts, 'day'>;
  daily: DailyCounts[];
  timelines: Map<string, Run[]>;
}

/** Runs of the last 24 h by result: the daily counts of exactly `[now − 24 h, now)`, summed. */
async function lastDayCounts(now: number): Promise<Omit<DailyCounts, 'day'>> {
  const { items } = await getJson<{ items: DailyCounts[] }>('/api/v1/stats/runs-per-day', {
    since: new Date(now - DAY_MS).toISOString(),
    until: new Date(now).toISOString(),
  });
  const sum = { succeeded: 0, failed: 0, partial: 0, missed: 0, skipped: 0 };
  for (const day of items) {
    for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += day[key];
  }
  return sum;
}

async function load(): Promise<OverviewData> {
  const [policies, volumes, recent, daily, lastDay] = await Promise.all([
    getJson<{ items: Policy[]; problems?: PolicyProblem[] }>('/api/v1/policies'),
    getJson<{ items: VolumeView[] }>('/api/v1/volumes'),
    getJson<Page<Run>>('/api/v1/runs', { limit: '500' }),
    getJson<{ items: DailyCounts[] }>('/api/v1/stats/runs-per-day', { timeZone: LOCAL_ZONE }),
    lastDayCounts(Date.now()),
  ]);
  const timelines = new Map<string, Run[]>();
  await Promise.all(
    policies.items.map(async (p) => {
      const page = await getJson<Page<Run>>('/api/v1/runs', {
        policy: p.key,
        limit: String(TIMELINE_RUNS),
      });
      timelines.set(p.key, page.items);
    }),
  );
  return {
    policies: policies.items,
    problems: policies.problems ?? [],
    volumes: volumes.items,
    recent: recent.items,
    lastDay,
    daily: daily.items,
    timelines,
  };
}

/** A row of coloured cells, oldest first: one per run, linking to it. */
export function runTimeline(runs: Run[], label: string): HTMLElement {
  return el(
    'span',
    { className: 'run-cells', attrs: { role: 'list', 'aria-label': label } },
    [...runs].reverse().map((r) =>
      el('a', {
        className: `cell cell-${r.state.replace(/[^a-z-]/g, '')}`,
        attrs: {
          role: 'listitem',
          href: `#/runs/${encodeURIComponent(r.id)}`,
          title: `${r.state} · ${r.scheduledAt ?? r.createdAt}`,
          'aria-label': `${r.state} at ${r.scheduledAt ?? r.createdAt}`,
        },
      }),
    ),
  );
}

function summary(data: OverviewData): HTMLElement {
  const counts = data.lastDay;
  const next = data.policies
    .filter((p) => p.nextRunTime)
    .sort((a, b) => Date.parse(a.nextRunTime ?? '') - Date.parse(b.nextRunTime ?? ''))[0];
  const selected = data.volumes.filter(isProtected);
  const atRisk = selected.filter((v) => risks(v).length > 0).length;
  const unprotected = data.volumes.length - selected.length;
  const tile = (id: string, label: string, value: Node | string, tone = '') =>
    el('div', { className: `tile ${tone}`, attrs: { id } }, [
      el('span', { className: 'tile-label', text: label }),
      el('span', { className: 'tile-value' }, [value]),
    ]);
  return el('section', { className: 'summary', attrs: { 'aria-label': 'Summary' } }, [
    tile('sum-succeeded', 'Succeeded (24 h)', String(counts.succeeded), 'good'),
    tile(
      'sum-failed',
      'Failed (24 h)',
      String(counts.failed + counts.partial),
      counts.failed + counts.partial > 0 ? 'bad' : '',
    ),
    tile('sum-missed', 'Missed (24 h)', String(counts.missed), counts.missed > 0 ? 'warn' : ''),
    tile(
      'sum-next',
      'Next run',
      next
        ? el('span', {}, [
            policyLink(next.key),
            el('br'),
            timeEl(next.nextRunTime, next.spec.timeZone ?? 'UTC'),
          ])
        : '—',
    ),
    tile('sum-at-risk', 'Volumes at risk', String(atRisk), atRisk > 0 ? 'bad' : 'good'),
    tile(
      'sum-unprotected',
      'Unprotected volumes',
      String(unprotected),
      unprotected > 0 ? 'warn' : '',
    ),
  ]);
}

function problemsSection(problems: PolicyProblem[]): HTMLElement | undefined {
  if (problems.length === 0) return undefined;
  const rows = problems.flatMap((p) =>
    p.errors.map((e) => [
      p.source.replace(/^file:/, ''),
      p.key ?? '—',
      e.field,
      e.message,
      timeEl(p.since ?? p.seenAt),
    ]),
  );
  return section('problems', [
    table(
      `Invalid policies (${problems.length}): not in force`,
      ['File', 'Policy', 'Field', 'Message', 'Since'],
      rows,
      'problems-table',
    ),
  ]);
}

function policiesSection(data: OverviewData): HTMLElement {
  const rows = data.policies.map((p) => {
    const zone = p.spec.timeZone ?? 'UTC';
    const last = p.lastRun;
    return [
      policyLink(p.key),
      p.spec.schedule,
      zone,
      p.spec.suspend ? 'suspended' : timeEl(p.nextRunTime, zone),
      last
        ? el('span', {}, [
            el('a', { attrs: { href: `#/runs/${encodeURIComponent(last.id)}` } }, [
              badge(last.state),
            ]),
            ' ',
            timeEl(last.finishedAt ?? last.scheduledAt, zone),
          ])
        : '—',
      runTimeline(data.timelines.get(p.key) ?? [], `Recent runs of ${p.key}`),
    ];
  });
  return section('policies', [
    table(
      'Policies',
      ['Policy', 'Schedule', 'Time zone', 'Next run', 'Last result', 'Recent runs'],
      rows,
      'policies-table',
    ),
  ]);
}

function volumesSections(volumes: VolumeView[]): HTMLElement[] {
  const selected = volumes.filter(isProtected);
  const atRisk = selected
    .map((v) => ({ v, reasons: risks(v) }))
    .filter((x) => x.reasons.length > 0);
  const unprotected = volumes.filter((v) => !isProtected(v));
  const labels = (v: VolumeView) =>
    Object.entries(v.labels)
      .map(([k, val]) => `${k}=${val}`)
      .join(', ');
  return [
    section('at-risk', [
      atRisk.length > 0
        ? table(
            'Volumes at risk',
            ['Volume', 'Policies', 'Snapshots / cap', 'Last ready', 'Why'],
            atRisk.map(({ v, reasons }) => [
              volumeLink(v),
              (v.policies ?? []).join(', '),
              `${v.snapshots} / ${v.cap}`,
              timeEl(v.lastReadyTime),
              reasons.join(', '),
            ]),
            'at-risk-table',
          )
        : el('p', { text: 'No protected volume at risk.', attrs: { id: 'no-risk' } }),
    ]),
    section('unprotected', [
      unprotected.length > 0
        ? table(
            'Unprotected volumes (no policy selects them)',
            ['Volume', 'Labels', 'Snapshots', 'Last ready'],
            unprotected.map((v) => [
              volumeLink(v),
              labels(v),
              String(v.snapshots),
              timeEl(v.lastReadyTime),
            ]),
            'unprotected-table',
          )
        : el('p', {
            text: 'Every volume is selected by a policy.',
            attrs: { id: 'no-unprotected' },
          }),
    ]),
    section('volumes', [
      table(
        'Volumes',
        ['Volume', 'Labels', 'Policies', 'Snapshots / cap', 'Last ready'],
        volumes.map((v) => [
          volumeLink(v),
          labels(v),
          (v.policies ?? []).join(', ') || 'none',
          `${v.snapshots} / ${v.cap}`,
          timeEl(v.lastReadyTime),
        ]),
        'volumes-table',
      ),
    ]),
  ];
}

/**
 * The overview: a summary strip, invalid policies, policies with next run, last result and
 * recent runs, volumes at risk and unprotected, charts. Refreshes in place.
 */
export async function renderOverview(root: HTMLElement): Promise<View> {
  const perDay = el('canvas', {
    attrs: { id: 'chart-runs-per-day', role: 'img', 'aria-label': 'Runs per day by result' },
  });
  const durations = el('canvas', {
    attrs: { id: 'chart-durations', role: 'img', 'aria-label': 'Run duration percentiles per day' },
  });
  const charts = el('section', { className: 'charts' }, [
    el('figure', {}, [perDay, el('figcaption', { text: 'Runs per day by result (14 days)' })]),
    el('figure', {}, [
      durations,
      el('figcaption', { text: 'Run duration percentiles (last 500 runs)' }),
    ]),
  ]);
  let perDayChart: Chart | undefined;
  let durationsChart: Chart | undefined;
  const draw = (data: OverviewData) => {
    swap(root, [
      el('h2', { text: 'Overview' }),
      summary(data),
      ...[problemsSection(data.problems)].filter((s): s is HTMLElement => s !== undefined),
      policiesSection(data),
      ...volumesSections(data.volumes),
      charts,
    ]);
    if (perDayChart) updateRunsPerDay(perDayChart, data.daily);
    else perDayChart = runsPerDayChart(perDay, data.daily);
    if (durationsChart) updateDurations(durationsChart, data.recent);
    else durationsChart = durationChart(durations, data.recent);
  };
  draw(await load());
  return {
    refresh: async () => draw(await load()),
    dispose: () => {
      perDayChart?.destroy();
      durationsChart?.destroy();
    },
  };
}
