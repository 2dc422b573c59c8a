import { getJson } from './api.js';
import { el } from './dom.js';
import { snapshotRequestForm, tokenField } from './forms.js';
import { eventItem, followEvents } from './live.js';
import { renderOverview } from './overview.js';
import { renderPolicy } from './policy.js';
import { renderRun } from './run-detail.js';
import { renderRuns } from './runs.js';
import type { AuditEvent, Page } from './types.js';
import type { View } from './view.js';
import { renderVolume } from './volume.js';

const view = document.getElementById('view') as HTMLElement;
const side = document.getElementById('side') as HTMLElement;
let current: View | undefined;
let generation = 0;

/** The view of a hash path: `/`, `/runs?…`, `/runs/<id>`, `/volumes/<ns>/<name>`, `/policies/<ns>/<name>`. */
function render(root: HTMLElement, parts: string[], search: string): Promise<View> {
  const [section, a, b] = parts;
  if (section === 'runs')
    return a ? renderRun(root, a) : renderRuns(root, new URLSearchParams(search));
  if (section === 'volumes' && a && b) return renderVolume(root, a, b);
  if (section === 'policies' && a && b) return renderPolicy(root, a, b);
  return renderOverview(root);
}

/**
 * Renders the route of the location hash into a container of its own: a refresh of the
 * previous view still in flight then draws into a detached element, never over this one.
 */
async function route(): Promise<void> {
  const [path = '/', search = ''] = location.hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const mine = ++generation;
  current?.dispose?.();
  current = undefined;
  const root = el('div', { className: 'route' });
  view.replaceChildren(root);
  view.setAttribute('aria-busy', 'true');
  try {
    const next = await render(root, parts, search);
    if (mine === generation) current = next;
    else next.dispose?.();
  } catch (error) {
    root.replaceChildren(el('p', { className: 'error', text: `Could not load: ${String(error)}` }));
  } finally {
    if (mine === generation) view.setAttribute('aria-busy', 'false');
  }
}

let pending: number | undefined;
let refreshing = false;
/** Refreshes the current view in place after a burst of events (one refresh at a time). */
function refreshSoon(): void {
  if (pending !== undefined) return;
  pending = window.setTimeout(() => {
    pending = undefined;
    if (refreshing) return refreshSoon();
    const target = current;
    if (!target) return;
    refreshing = true;
    target
      .refresh()
      .catch(() => undefined)
      .finally(() => (refreshing = false));
  }, 750);
}

const events = el('ol', { attrs: { id: 'live-events', 'aria-label': 'Latest audit events' } });
const liveState = el('span', { text: 'connecting…', attrs: { id: 'live-state' } });
side.append(
  tokenField(),
  snapshotRequestForm(),
  el('h3', {}, ['Live events: ', liveState]),
  events,
);

/** Fills the live list with the latest events, then follows the stream. */
async function startLive(): Promise<void> {
  try {
    const latest = await getJson<Page<AuditEvent>>('/api/v1/events', { limit: '20' });
    events.replaceChildren(
      ...latest.items.map((e) => {
        const item = eventItem(e);
        item.dataset.id = e.id;
        return item;
      }),
    );
  } catch {
    // The stream still fills the list as events arrive.
  }
  followEvents(events, liveState, refreshSoon);
}

window.addEventListener('hashchange', () => void route());
void route();
void startLive();
