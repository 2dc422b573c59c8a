/**
 * Runs `work(key)` for keys as they are added: one run per key at a time, and a key added
 * while its run is in flight runs once more afterwards (however often it was added). Errors
 * go to `onError`; the key is not retried by itself (the caller's resync adds it again).
 */
export class KeyedWorkQueue {
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly soon = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly onError: (key: string, error: unknown) => void,
  ) {}

  add(key: string): void {
    if (this.closed) return;
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    this.running.add(key);
    const run = this.run(key);
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  /**
   * Adds the key after `delayMs`; adding it again meanwhile changes nothing, so that a burst of
   * changes of one key makes one run.
   */
  addSoon(key: string, delayMs: number): void {
    if (this.closed || this.soon.has(key)) return;
    const timer = setTimeout(() => {
      this.soon.delete(key);
      this.add(key);
    }, delayMs);
    this.soon.set(key, timer);
  }

  /** Stops taking keys (the delayed ones are dropped) and waits for the runs in flight. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.soon.values()) clearTimeout(timer);
    this.soon.clear();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async run(key: string): Promise<void> {
    try {
      do {
        this.again.delete(key);
        try {
          await this.work(key);
        } catch (error) {
          this.onError(key, error);
        }
      } while (this.again.has(key) && !this.closed);
    } finally {
      this.running.delete(key);
    }
  }
}
