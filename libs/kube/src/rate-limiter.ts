/**
 * Client-side token bucket (client-go's `flowcontrol` semantics): `burst` requests may go at
 * once, after that one request every `1/qps` seconds. Callers that find the bucket empty
 * reserve a future token and wait for it, so waiting callers are served in arrival order and
 * N calls made at once take at least `(N - burst) / qps` seconds.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (!(qps > 0) || !(burst >= 1)) {
      throw new RangeError(`rate limit needs qps > 0 and burst >= 1 (got ${qps}, ${burst})`);
    }
    this.tokens = burst;
    this.last = this.now();
  }

  /** Milliseconds the caller must wait for its token (0 when one is available); takes the token. */
  reserve(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }

  /** Resolves when the caller may send its request. */
  async acquire(): Promise<void> {
    const waitMs = this.reserve();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}
