import type { AuditEvent, AuditLog } from '#lib/audit';
import { type EventMatch, matchesEvent } from './event-match.js';

/** Most events replayed to a reconnecting client; older gaps are not filled. */
export const MAX_REPLAY = 1_000;

const STREAM_ID = /^(\d+)-(\d+)$/;

/** Whether `id` is a stream id (`<ms>-<seq>`), as an SSE `Last-Event-ID` must be. */
export function isStreamId(id: string): boolean {
  return STREAM_ID.test(id);
}

/** Orders two stream ids (`<ms>-<seq>`). */
export function compareIds(a: string, b: string): number {
  const [, am = '0', as = '0'] = STREAM_ID.exec(a) ?? [];
  const [, bm = '0', bs = '0'] = STREAM_ID.exec(b) ?? [];
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/**
 * The events after `lastId` matching `match`, oldest first (at most {@link MAX_REPLAY}): what
 * a client reconnecting with `Last-Event-ID` missed.
 */
export async function eventsAfter(
  audit: AuditLog,
  lastId: string,
  match: EventMatch,
): Promise<AuditEvent[]> {
  const since = new Date(Number(STREAM_ID.exec(lastId)?.[1] ?? '0'));
  const events: AuditEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await audit.query({ since, order: 'asc', limit: 500, cursor });
    for (const event of page.items) {
      if (compareIds(event.id, lastId) > 0 && matchesEvent(event, match)) events.push(event);
    }
    cursor = page.nextCursor;
  } while (cursor && events.length < MAX_REPLAY);
  return events.slice(0, MAX_REPLAY);
}
