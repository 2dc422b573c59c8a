import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Logger } from 'pino';
import type { AuditEvent, AuditLog, AuditSubscription } from '#lib/audit';
import { AUDIT_LOG, LOGGER } from '#lib/runtime';

/** Receives each new audit event of the feed. */
export type AuditFeedListener = (event: AuditEvent) => void;

/**
 * One live tail of the audit log per api process, fanned out to any number of listeners (the
 * event stream's clients, the metrics). It sees every replica's events, since they all append
 * to the same stream. Listeners added after shutdown began are refused.
 */
@Injectable()
export class AuditFeed implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly listeners = new Set<AuditFeedListener>();
  private readonly closers = new Set<() => void>();
  private subscription: AuditSubscription | undefined;
  private closed = false;

  constructor(
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.audit.subscribe((event) => this.publish(event), {
      onError: (error) => this.logger.warn({ err: error }, 'audit live tail'),
    });
  }

  /** Resolves once the tail is in place: every event appended afterwards is delivered. */
  get ready(): Promise<void> {
    return this.subscription?.ready ?? Promise.resolve();
  }

  /**
   * Adds a listener; `onClose` runs when the feed shuts down. Returns the function removing
   * both, or `undefined` when the feed is already closed.
   */
  listen(listener: AuditFeedListener, onClose?: () => void): (() => void) | undefined {
    if (this.closed) return undefined;
    this.listeners.add(listener);
    if (onClose) this.closers.add(onClose);
    return () => {
      this.listeners.delete(listener);
      if (onClose) this.closers.delete(onClose);
    };
  }

  /** Stops the tail and tells every listener's owner to close (e.g. ends SSE responses). */
  onModuleDestroy(): void {
    this.closed = true;
    this.subscription?.();
    for (const close of [...this.closers]) close();
    this.listeners.clear();
    this.closers.clear();
  }

  private publish(event: AuditEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn({ err: error, event: event.id }, 'audit feed listener failed');
      }
    }
  }
}
