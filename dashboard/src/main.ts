import { el } from './dom.js';
import { snapshotRequestForm, tokenField } from './forms.js';
import { followEvents } from './live.js';
import { renderOverview } from './overview.js';
import { renderRun } from './run-detail.js';
import { renderRuns } from './runs.js';
import { renderVolume } from './volume.js';

const view = document.getElementById('view') as HTMLElement;
const side = document.getElementById('side') as HTMLElement;

/** Renders the route of the location hash: `#/`, `#/runs?…`, `#/runs/<id>`, `#/volumes/<ns>/<name>`. */
async function route(): Promise<void> {
  const [path = '/', search = ''] = location.hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  view.setAttribute('aria-busy', 'true');
  try {
    if (parts[0] === 'runs' && parts[1]) await renderRun(view, parts[1]);
    else if (parts[0] === 'runs') await renderRuns(view, new URLSearchParams(search));
    else if (parts[0] === 'volumes' && parts[1] && parts[2])
      await renderVolume(view, parts[1], parts[2]);
    else await renderOverview(view);
  } catch (error) {
    view.replaceChildren(el('p', { className: 'error', text: `Could not load: ${String(error)}` }));
  } finally {
    view.setAttribute('aria-busy', 'false');
  }
}

let pending: number | undefined;
/** Re-renders the current view after a burst of events, unless a form in it has focus. */
function refreshSoon(): void {
  if (pending !== undefined) return;
  pending = window.setTimeout(() => {
    pending = undefined;
    if (view.contains(document.activeElement) && document.activeElement?.closest('form')) return;
    void route();
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
followEvents(events, liveState, refreshSoon);
window.addEventListener('hashchange', () => void route());
void route();
