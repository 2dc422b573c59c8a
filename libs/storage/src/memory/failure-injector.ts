/** Operations of the memory driver whose next calls can be made to fail. */
export type MemoryOperation = 'create' | 'delete' | 'ready' | 'list' | 'restore' | 'rollback';

/** Queued failures per operation: each injected error is used `times` times, in order. */
export class FailureInjector {
  private readonly queues = new Map<MemoryOperation, { error: Error; remaining: number }[]>();

  inject(op: MemoryOperation, error: Error, times: number): void {
    if (times <= 0) return;
    const queue = this.queues.get(op) ?? [];
    queue.push({ error, remaining: times });
    this.queues.set(op, queue);
  }

  /** The error the next call of `op` must fail with, consuming it; undefined when none. */
  take(op: MemoryOperation): Error | undefined {
    const queue = this.queues.get(op);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining--;
    if (head.remaining === 0) queue.shift();
    return head.error;
  }

  throwIfInjected(op: MemoryOperation): void {
    const error = this.take(op);
    if (error) throw error;
  }
}
