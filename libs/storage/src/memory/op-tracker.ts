/**
 * Counts snapshot operations that overlap in time, per volume. The memory driver does not
 * serialise anything itself, so `maxPerVolume` is a measurement of the caller: above 1, two
 * operations on one volume were in flight at once (a breach of invariant 4).
 */
export class OpTracker {
  private readonly perVolume = new Map<string, number>();
  private current = 0;
  private max = 0;

  async run<T>(volumeKey: string | undefined, fn: () => Promise<T>): Promise<T> {
    if (volumeKey === undefined) return fn();
    this.enter(volumeKey);
    try {
      return await fn();
    } finally {
      this.leave(volumeKey);
    }
  }

  get currentOps(): number {
    return this.current;
  }

  get maxPerVolume(): number {
    return this.max;
  }

  private enter(key: string): void {
    const count = (this.perVolume.get(key) ?? 0) + 1;
    this.perVolume.set(key, count);
    this.current++;
    this.max = Math.max(this.max, count);
  }

  private leave(key: string): void {
    const count = (this.perVolume.get(key) ?? 1) - 1;
    if (count === 0) this.perVolume.delete(key);
    else this.perVolume.set(key, count);
    this.current--;
  }
}
