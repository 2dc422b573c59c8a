import { getJson } from './api.js';
import { badge, el, field, input, link, select, table } from './dom.js';
import { duration, when } from './format.js';
import type { Page, Run } from './types.js';

const KINDS = ['scheduled', 'on-demand', 'restore', 'cleanup'];
const STATES = ['running', 'succeeded', 'failed', 'partial', 'missed', 'skipped'];
const FILTERS = ['policy', 'volume', 'kind', 'state', 'since', 'until'] as const;

/** A `datetime-local` value as an ISO date-time, or undefined. */
function iso(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function errorText(run: Run): string {
  const errors = run.volumes.flatMap((v) => (v.error ? [`${v.volume}: ${v.error}`] : []));
  return (
    errors.join('; ') ||
    (run.state === 'failed' || run.state === 'partial' ? (run.message ?? '') : '')
  );
}

/** A run's row: link, times, policy, kind, trigger, result, duration, errors. */
function row(run: Run): (Node | string)[] {
  return [
    link(`/runs/${encodeURIComponent(run.id)}`, when(run.createdAt)),
    run.policy ?? '—',
    run.volumes.map((v) => v.volume).join(', '),
    run.kind,
    run.trigger,
    badge(run.state),
    duration(run.durationMs),
    errorText(run),
  ];
}

/** Run history: filters (kept in the URL), a table, and cursor paging. */
export async function renderRuns(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const controls = {
    policy: input('filter-policy', { placeholder: 'namespace/name' }),
    volume: input('filter-volume'),
    kind: select('filter-kind', KINDS),
    state: select('filter-state', STATES),
    since: input('filter-since', { type: 'datetime-local' }),
    until: input('filter-until', { type: 'datetime-local' }),
  };
  for (const name of FILTERS) controls[name].value = params.get(name) ?? '';
  const form = el('form', { attrs: { id: 'run-filters', 'aria-label': 'Filter runs' } }, [
    field('Policy', controls.policy),
    field('Volume', controls.volume),
    field('Kind', controls.kind),
    field('Result', controls.state),
    field('Since', controls.since),
    field('Until', controls.until),
    el('button', { text: 'Apply filters', attrs: { type: 'submit' } }),
  ]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const name of FILTERS) if (controls[name].value) next.set(name, controls[name].value);
    location.hash = `#/runs?${next.toString()}`;
  });
  const results = el('div', { attrs: { id: 'run-results', 'aria-live': 'polite' } });
  root.replaceChildren(el('h2', { text: 'Run history' }), form, results);
  const query: Record<string, string | undefined> = {
    policy: params.get('policy') ?? undefined,
    volume: params.get('volume') ?? undefined,
    kind: params.get('kind') ?? undefined,
    state: params.get('state') ?? undefined,
    since: iso(params.get('since') ?? ''),
    until: iso(params.get('until') ?? ''),
    limit: '25',
  };
  const rows: (Node | string)[][] = [];
  const more = el('button', { text: 'Next page', attrs: { type: 'button', id: 'runs-more' } });
  const load = async (cursor?: string) => {
    const page = await getJson<Page<Run>>('/api/v1/runs', { ...query, cursor });
    rows.push(...page.items.map(row));
    const headers = [
      'Started',
      'Policy',
      'Volumes',
      'Kind',
      'Trigger',
      'Result',
      'Duration',
      'Error',
    ];
    results.replaceChildren(
      rows.length > 0 ? table('Runs', headers, rows) : el('p', { text: 'No runs match.' }),
    );
    if (page.nextCursor) {
      more.onclick = () => void load(page.nextCursor);
      results.append(more);
    }
  };
  await load();
}
