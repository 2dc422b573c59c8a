import { ArchiveFormatError } from './tar-format.js';

/** Pulls exact byte counts out of a stream of chunks; it never reads ahead more than one chunk. */
export class ByteReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Exactly `n` bytes; the archive ending first is an `ArchiveFormatError`. */
  async exact(n: number): Promise<Buffer> {
    while (this.buffered < n) {
      if (!(await this.fill())) throw new ArchiveFormatError('the archive ends in mid-entry');
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const piece = this.takeUpTo(n - at);
      piece.copy(out, at);
      at += piece.length;
    }
    return out;
  }

  /** The next `n` bytes as they arrive, in pieces. */
  async *pieces(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill())) {
        throw new ArchiveFormatError('the archive ends in mid-entry');
      }
      const piece = this.takeUpTo(left);
      left -= piece.length;
      yield piece;
    }
  }

  /** Reads and drops everything left (so a checksum over the whole input is complete). */
  async drain(): Promise<void> {
    this.chunks.length = 0;
    this.buffered = 0;
    while (await this.fill()) {
      this.chunks.length = 0;
      this.buffered = 0;
    }
  }

  private takeUpTo(n: number): Buffer {
    const first = this.chunks[0];
    if (!first) return Buffer.alloc(0);
    if (first.length <= n) {
      this.chunks.shift();
      this.buffered -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return first.subarray(0, n);
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.source.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    const chunk = next.value;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    return true;
  }
}
