import { getJson } from './api.js';
import { badge, el, table } from './dom.js';
import { duration, when } from './format.js';
import type { AuditEvent, Page, Run } from './types.js';

/** One run: its volumes and the timeline of its audit events, oldest first. */
export async function renderRun(root: HTMLElement, id: string): Promise<void> {
  const [run, events] = await Promise.all([
    getJson<Run>(`/api/v1/runs/${encodeURIComponent(id)}`),
    getJson<Page<AuditEvent>>('/api/v1/events', { runId: id, limit: '500' }),
  ]);
  const timeline = el(
    'ol',
    { className: 'timeline', attrs: { 'aria-label': 'Audit events of this run' } },
    [...events.items]
      .reverse()
      .map((e) =>
        el('li', {}, [
          el('time', { text: when(e.time), attrs: { datetime: e.time } }),
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
  root.replaceChildren(
    el('h2', { text: `Run ${run.id}` }),
    el('dl', { className: 'facts' }, [
      el('dt', { text: 'Policy' }),
      el('dd', { text: run.policy ?? '—' }),
      el('dt', { text: 'Kind' }),
      el('dd', { text: run.kind }),
      el('dt', { text: 'Trigger' }),
      el('dd', { text: run.trigger }),
      el('dt', { text: 'Result' }),
      el('dd', {}, [badge(run.state)]),
      el('dt', { text: 'Started' }),
      el('dd', { text: when(run.createdAt) }),
      el('dt', { text: 'Duration' }),
      el('dd', { text: duration(run.durationMs) }),
      el('dt', { text: 'Message' }),
      el('dd', { text: run.message ?? '—' }),
    ]),
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
    timeline,
  );
}
