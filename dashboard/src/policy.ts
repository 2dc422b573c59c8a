import { ApiError, getJson } from './api.js';
import { badge, el, link, swap, table } from './dom.js';
import { LOCAL_ZONE, timeEl, when } from './format.js';
import { runTimeline } from './overview.js';
import { runRow } from './runs.js';
import type { Page, PolicyDetail, Run, VolumeView } from './types.js';
import type { View } from './view.js';

const KEEP_RULES = [
  'keepLast',
  'keepHourly',
  'keepDaily',
  'keepWeekly',
  'keepMonthly',
  'keepYearly',
];

/** Snapshots the retention keeps, and the most it holds while a run takes a new one. */
export function footprint(retention: Record<string, number | undefined> = {}) {
  const retained = KEEP_RULES.reduce((sum, rule) => sum + (retention[rule] ?? 0), 0);
  return { retained, peak: retained + ((retention.keepLast ?? 0) >= 2 ? 0 : 1) };
}

/**
 * A policy: its spec, conditions, next runs in its own zone, the slots it will use on each
 * volume it selects, and its recent runs.
 */
export async function renderPolicy(
  root: HTMLElement,
  namespace: string,
  name: string,
): Promise<View> {
  const key = `${namespace}/${name}`;
  const draw = async () => {
    const [policy, volumes, runs] = await Promise.all([
      getJson<PolicyDetail>(
        `/api/v1/policies/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
      ).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return undefined;
        throw error;
      }),
      getJson<{ items: VolumeView[] }>('/api/v1/volumes', { namespace }),
      getJson<Page<Run>>('/api/v1/runs', { policy: key, limit: '20' }),
    ]);
    if (!policy) {
      swap(root, [
        el('h2', { text: `Policy ${key} not found` }),
        el('p', { text: 'It is not in force: see the invalid policies on the overview.' }),
      ]);
      return;
    }
    const zone = policy.spec.timeZone ?? 'UTC';
    const { retained, peak } = footprint(policy.spec.retention);
    const selected = volumes.items.filter((v) => (v.policies ?? []).includes(key));
    const pair = (term: string, value: Node | string) => [
      el('dt', { text: term }),
      el('dd', {}, [value]),
    ];
    swap(root, [
      el('h2', { text: `Policy ${key}` }),
      el('dl', { className: 'facts' }, [
        ...pair('Schedule', `${policy.spec.schedule} in ${zone}`),
        ...pair('State', policy.spec.suspend ? 'suspended' : 'active'),
        ...pair('Next run', policy.spec.suspend ? '—' : timeEl(policy.nextRunTime, zone)),
        ...pair('Last result', policy.lastRun ? badge(policy.lastRun.state) : '—'),
        ...pair('Source', policy.source ?? '—'),
        ...pair('Applied', timeEl(policy.appliedAt)),
        ...pair('Recent runs', runTimeline(runs.items, `Recent runs of ${key}`)),
      ]),
      table(
        'Conditions',
        ['Type', 'Status', 'Reason', 'Message', 'Since'],
        policy.conditions.map((c) => [
          c.type,
          c.status,
          c.reason,
          c.message,
          timeEl(c.lastTransitionTime),
        ]),
        'policy-conditions',
      ),
      el('h3', { text: `Next runs (${zone})` }),
      el(
        'ol',
        { attrs: { id: 'policy-next-runs', 'aria-label': 'Next runs' } },
        policy.nextRuns.map((t) =>
          el('li', {}, [
            timeEl(t, zone),
            zone === LOCAL_ZONE
              ? ''
              : el('span', { className: 'detail', text: ` = ${when(t)} here` }),
          ]),
        ),
      ),
      table(
        'Projected slots per volume',
        ['Volume', 'Snapshots now', 'Kept by this policy', 'Peak during a run', 'Cap', 'Fits'],
        selected.map((v) => [
          link(
            `/volumes/${encodeURIComponent(v.namespace)}/${encodeURIComponent(v.name)}`,
            `${v.namespace}/${v.name}`,
          ),
          String(v.snapshots),
          String(retained),
          String(peak),
          String(v.cap),
          peak <= v.cap
            ? el('span', { className: 'badge badge-succeeded', text: 'yes' })
            : el('span', { className: 'badge badge-failed', text: 'no' }),
        ]),
        'policy-slots',
      ),
      table(
        'Recent runs',
        ['Started', 'Policy', 'Volumes', 'Kind', 'Trigger', 'Result', 'Duration', 'Error'],
        runs.items.map(runRow),
        'policy-runs',
      ),
      el('h3', { text: 'Spec' }),
      el('pre', { className: 'spec', text: JSON.stringify(policy.spec, null, 2) }),
    ]);
  };
  await draw();
  return { refresh: draw };
}
