import { getJson } from './api.js';
import { badge, el, field, input, select, swap, table } from './dom.js';
import { duration, timeEl } from './format.js';
import type { Page, Run } from './types.js';
import type { View } from './view.js';

const KINDS = ['scheduled', 'on-demand', 'restore', 'cleanup'];
const STATES = ['running', 'succeeded', 'failed', 'partial', 'missed', 'skipped'];
const FILTERS = ['policy', 'volume', 'kind', 'state', 'since', 'until'] as const;
const PAGE = 25;
const MAX_LIMIT = 500;
const HEADERS = ['Started', 'Policy', 'Volumes', 'Kind', 'Trigger', 'Result', 'Duration', 'Error'];

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
export function runRow(run: Run): (Node | string)[] {
  return [
    el('a', { attrs: { href: `#/runs/${encodeURIComponent(run.id)}` } }, [
      timeEl(run.scheduledAt ?? run.createdAt),
    ]),
    run.policy ?? '—',
    run.volumes.map((v) => v.volume).join(', '),
    run.kind,
    run.trigger,
    badge(run.state),
    duration(run.durationMs),
    errorText(run),
  ];
}

function filterForm(params: URLSearchParams): HTMLFormElement {
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
  return form;
}

/**
 * Run history: filters (kept in the URL), a table and cursor paging. A live refresh reloads
 * as many runs as are shown, so the pages loaded, the filters, scroll and focus stay.
 */
export async function renderRuns(root: HTMLElement, params: URLSearchParams): Promise<View> {
  const results = el('div', { attrs: { id: 'run-results', 'aria-live': 'polite' } });
  root.replaceChildren(el('h2', { text: 'Run history' }), filterForm(params), results);
  const query: Record<string, string | undefined> = {
    policy: params.get('policy') ?? undefined,
    volume: params.get('volume') ?? undefined,
    kind: params.get('kind') ?? undefined,
    state: params.get('state') ?? undefined,
    since: iso(params.get('since') ?? ''),
    until: iso(params.get('until') ?? ''),
  };
  let runs: Run[] = [];
  let pages = 1;
  let nextCursor: string | undefined;

  /** Reads `count` runs from `cursor` on, across short pages. */
  const read = async (count: number, cursor?: string) => {
    const items: Run[] = [];
    let next = cursor;
    do {
      const limit = String(Math.min(MAX_LIMIT, count - items.length));
      const page = await getJson<Page<Run>>('/api/v1/runs', { ...query, limit, cursor: next });
      items.push(...page.items);
      next = page.nextCursor;
    } while (next && items.length < count);
    return { items, next };
  };
  const draw = () => {
    const children: Node[] = [
      runs.length > 0
        ? table('Runs', HEADERS, runs.map(runRow), 'runs-table')
        : el('p', { text: 'No runs match.' }),
      el('p', {
        className: 'muted',
        text: `Showing ${runs.length} run${runs.length === 1 ? '' : 's'}, page ${pages}.`,
        attrs: { id: 'runs-shown' },
      }),
    ];
    if (nextCursor) {
      const more = el('button', { text: 'Next page', attrs: { type: 'button', id: 'runs-more' } });
      more.addEventListener('click', () => void nextPage());
      children.push(more);
    }
    swap(results, children);
  };
  // One read at a time: a live refresh that began before "Next page" finished would otherwise
  // draw its shorter list under the new page count (or a page would be appended to a list the
  // refresh replaced).
  let pending: Promise<void> = Promise.resolve();
  const serial = (step: () => Promise<void>): Promise<void> => {
    const run = pending.then(step);
    pending = run.catch(() => undefined);
    return run;
  };
  const nextPage = () =>
    serial(async () => {
      const { items, next } = await read(PAGE, nextCursor);
      runs = [...runs, ...items];
      nextCursor = next;
      pages++;
      draw();
    });
  const first = await read(PAGE);
  runs = first.items;
  nextCursor = first.next;
  draw();
  return {
    refresh: () =>
      serial(async () => {
        const { items, next } = await read(Math.max(PAGE, pages * PAGE));
        runs = items;
        nextCursor = next;
        draw();
      }),
  };
}
