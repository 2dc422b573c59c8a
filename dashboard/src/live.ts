import { el } from './dom.js';
import { shortTimeEl } from './format.js';
import type { AuditEvent } from './types.js';

const KEEP = 20;

/** One event of the live list: time, type and what it concerns, all as text. */
export function eventItem(event: AuditEvent): HTMLLIElement {
  const text = [event.type, event.policy, event.volume, event.reason, event.error]
    .filter(Boolean)
    .join(' · ');
  return el('li', { className: `event-${event.outcome}` }, [shortTimeEl(event.time), ' ', text]);
}

/**
 * Follows `/api/v1/events/stream`: shows the newest events in `list` and calls `onEvent`
 * (the current view's refresh) for each. EventSource reconnects by itself.
 */
export function followEvents(
  list: HTMLElement,
  state: HTMLElement,
  onEvent: (e: AuditEvent) => void,
): EventSource {
  const source = new EventSource('/api/v1/events/stream');
  source.onopen = () => (state.textContent = 'live');
  source.onerror = () => (state.textContent = 'reconnecting…');
  source.onmessage = (message: MessageEvent<string>) => {
    const event = JSON.parse(message.data) as AuditEvent;
    if (list.querySelector(`[data-id="${CSS.escape(event.id)}"]`)) return;
    const item = eventItem(event);
    item.dataset.id = event.id;
    list.prepend(item);
    while (list.children.length > KEEP) list.lastElementChild?.remove();
    onEvent(event);
  };
  return source;
}
