import type { Response } from 'express';
import type { AuditEvent } from '#lib/audit';
import { type EventMatch, matchesEvent } from './event-match.js';
import { compareIds } from './event-replay.js';

/**
 * One event-stream client: writes matching events once each, in id order. While a replay of
 * missed events runs, live events wait in a buffer and are written after it, skipping any the
 * replay already sent.
 */
export class SseClient {
  private lastSent: string | undefined;
  private buffer: AuditEvent[] | undefined;

  constructor(
    private readonly res: Response,
    private readonly match: EventMatch,
  ) {}

  /** Holds live events until {@link endReplay}. */
  startReplay(): void {
    this.buffer = [];
  }

  /** Writes the replayed events, then the live ones that arrived meanwhile. */
  endReplay(replayed: AuditEvent[]): void {
    const buffered = this.buffer ?? [];
    this.buffer = undefined;
    for (const event of [...replayed, ...buffered]) this.write(event);
  }

  /** A live event. */
  push(event: AuditEvent): void {
    if (this.buffer) this.buffer.push(event);
    else this.write(event);
  }

  private write(event: AuditEvent): void {
    if (this.res.writableEnded || !matchesEvent(event, this.match)) return;
    if (this.lastSent !== undefined && compareIds(event.id, this.lastSent) <= 0) return;
    this.lastSent = event.id;
    this.res.write(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
  }
}
