import { ApiError } from './errors.js';

/**
 * A de-duplicating, one-at-a-time work queue, like a controller's rate-limited queue: a key added
 * while queued runs once; handlers run outside the store's event dispatch; a 409 Conflict
 * requeues the key.
 */
export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly handler: (key: string) => void) {}

  /** Queues a key (after `delayMs`, default next tick). */
  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs === 0 && this.pending.has(key)) return;
    if (delayMs === 0) this.pending.add(key);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.pending.delete(key);
      this.run(key);
    }, delayMs);
    this.timers.add(timer);
  }

  /** Drops pending work; nothing runs afterwards. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
  }

  private run(key: string): void {
    if (this.stopped) return;
    try {
      this.handler(key);
    } catch (error) {
      if (error instanceof ApiError && error.code === 409) {
        this.add(key, 5);
        return;
      }
      console.error(`k8s-sim: reconcile of ${key} failed`, error);
    }
  }
}
