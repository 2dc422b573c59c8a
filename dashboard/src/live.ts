import { el } from './dom.js';
import { when } from './format.js';
import type { AuditEvent } from './types.js';

const KEEP = 20;

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
    const text = [event.type, event.policy, event.volume, event.reason, event.error]
      .filter(Boolean)
      .join(' · ');
    list.prepend(
      el('li', {}, [
        el('time', { text: when(event.time), attrs: { datetime: event.time } }),
        ' ',
        text,
      ]),
    );
    while (list.children.length > KEEP) list.lastElementChild?.remove();
    onEvent(event);
  };
  return source;
}
