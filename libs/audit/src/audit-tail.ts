import type { Redis } from 'ioredis';
import type { AuditEvent } from './audit-event.js';
import { fromStreamEntry } from './audit-codec.js';
import { isStreamId } from './cursor.js';
import { InvalidQueryError } from './errors.js';

/** Receives each new event, in stream order. */
export type AuditListener = (event: AuditEvent) => void;

/** Options of {@link AuditLog.subscribe}. */
export interface AuditSubscribeOptions {
  /**
   * Deliver the events after this stream id (an SSE client's `Last-Event-ID`). By default the
   * tail starts at the newest event present when it begins reading.
   */
  after?: string;
  /** Read errors (the tail keeps retrying) and exceptions thrown by the listener. */
  onError?: (error: unknown) => void;
}

/** Stops a live tail and closes its connection; also exposes when the tail is in place. */
export interface AuditSubscription {
  (): void;
  /**
   * Resolves once the tail has fixed its starting point: every event appended after that is
   * delivered (also on unsubscribe, so nothing waits forever).
   */
  readonly ready: Promise<void>;
}

type XReadReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

const BLOCK_MS = 5_000;
const RETRY_MS = 1_000;

/**
 * A live tail of the audit stream on its own connection (`XREAD BLOCK` parks the connection,
 * so it cannot share the caller's). Delivers each event once, in order; after a lost
 * connection it resumes from the last delivered id, so an outage leaves no gap.
 */
export class AuditTail {
  private active = true;
  private readonly connection: Redis;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private markReady: () => void = () => undefined;
  readonly ready: Promise<void>;

  constructor(
    source: Redis,
    private readonly key: string,
    private readonly listener: AuditListener,
    private readonly options: AuditSubscribeOptions = {},
  ) {
    if (options.after !== undefined && !isStreamId(options.after)) {
      throw new InvalidQueryError('after', 'not a stream id');
    }
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    // Blocking reads must wait out reconnects and must not hit a per-command timeout.
    this.connection = source.duplicate({ maxRetriesPerRequest: null, commandTimeout: undefined });
    this.connection.on('error', (error: unknown) => this.report(error));
    void this.run();
  }

  /** Stops reading and closes the connection; idempotent. */
  stop(): void {
    if (!this.active) return;
    this.active = false;
    this.markReady();
    clearTimeout(this.timer);
    this.wake?.();
    this.connection.disconnect();
  }

  private async run(): Promise<void> {
    let last: string | undefined = this.options.after;
    while (this.active) {
      try {
        last ??= await this.newestId();
        this.markReady();
        const reply: XReadReply = await this.connection.xread(
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          this.key,
          last,
        );
        last = this.deliver(reply, last);
      } catch (error) {
        if (!this.active) return;
        this.report(error);
        await this.pause(RETRY_MS);
      }
    }
  }

  private async newestId(): Promise<string> {
    const [newest] = await this.connection.xrevrange(this.key, '+', '-', 'COUNT', 1);
    return newest?.[0] ?? '0-0';
  }

  private deliver(reply: XReadReply, last: string): string {
    let position = last;
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        if (!this.active) return position;
        position = id;
        const event = fromStreamEntry(id, fields);
        if (event) this.emit(event);
      }
    }
    return position;
  }

  private emit(event: AuditEvent): void {
    try {
      this.listener(event);
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    if (this.active) this.options.onError?.(error);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }
}
