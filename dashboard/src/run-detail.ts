import { ApiError, getJson } from './api.js';
import { badge, el, swap, table } from './dom.js';
import { duration, timeEl } from './format.js';
import { policyLink } from './overview.js';
import type { AuditEvent, Page, Run } from './types.js';
import type { View } from './view.js';

function timeline(events: AuditEvent[]): HTMLElement {
  return el(
    'ol',
    { className: 'timeline', attrs: { 'aria-label': 'Audit events of this run' } },
    [...events]
      .reverse()
      .map((e) =>
        el('li', {}, [
          timeEl(e.time),
          ' ',
          badge(e.outcome),
          ' ',
          el('strong', { text: e.type }),
          ...[e.volume, e.snapshot, e.reason, e.message, e.error]
            .filter((t): t is string => Boolean(t))
            .map((t) => el('span', { text: t, className: 'detail' })),
          e.durationMs !== undefined
            ? el('span', { text: duration(e.durationMs), className: 'detail' })
            : '',
        ]),
      ),
  );
}

function facts(run: Run): HTMLElement {
  const pair = (term: string, value: Node | string) => [
    el('dt', { text: term }),
    el('dd', {}, [value]),
  ];
  return el('dl', { className: 'facts' }, [
    ...pair('Policy', run.policy ? policyLink(run.policy) : '—'),
    ...pair('Kind', run.kind),
    ...pair('Trigger', run.trigger),
    ...pair('Result', badge(run.state)),
    ...pair('Scheduled', timeEl(run.scheduledAt ?? run.createdAt)),
    ...pair('Recorded', timeEl(run.createdAt)),
    ...pair('Finished', timeEl(run.finishedAt)),
    ...pair('Duration', duration(run.durationMs)),
    ...pair('Message', run.message ?? '—'),
  ]);
}

/** One run: its volumes and the timeline of its audit events, oldest first. */
export async function renderRun(root: HTMLElement, id: string): Promise<View> {
  const draw = async () => {
    const [run, events] = await Promise.all([
      getJson<Run>(`/api/v1/runs/${encodeURIComponent(id)}`).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return undefined;
        throw error;
      }),
      getJson<Page<AuditEvent>>('/api/v1/events', { runId: id, limit: '500' }),
    ]);
    if (!run) {
      swap(root, [
        el('h2', { text: `Run ${id}` }),
        el('p', {
          text: 'Not recorded yet: it appears here when a worker starts it.',
          attrs: { id: 'run-pending' },
        }),
      ]);
      return;
    }
    swap(root, [
      el('h2', { text: `Run ${run.id}` }),
      facts(run),
      table(
        'Volumes',
        ['Volume', 'Result', 'Snapshot', 'Duration', 'Reason', 'Error'],
        run.volumes.map((v) => [
          v.volume,
          badge(v.state),
          v.snapshot ?? '—',
          duration(v.durationMs),
          v.reason ?? '',
          v.error ?? '',
        ]),
      ),
      el('h3', { text: 'Timeline' }),
      timeline(events.items),
    ]);
  };
  await draw();
  return { refresh: draw };
}
