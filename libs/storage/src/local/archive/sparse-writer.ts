import type { FileHandle } from 'node:fs/promises';

const BLOCK = 128 * 1024;
const ZEROS = Buffer.alloc(BLOCK);

/**
 * Writes a file's data in aligned blocks and skips blocks of zeros, which the final truncate
 * leaves as holes: a sparse file is restored sparse, and any long run of zeros becomes one.
 */
export class SparseWriter {
  private readonly block = Buffer.allocUnsafe(BLOCK);
  private filled = 0;
  private position = 0;

  constructor(private readonly handle: FileHandle) {}

  async write(data: Buffer): Promise<void> {
    let rest = data;
    while (rest.length > 0) {
      if (this.filled === 0 && rest.length >= BLOCK) {
        await this.flush(rest.subarray(0, BLOCK));
        rest = rest.subarray(BLOCK);
        continue;
      }
      const n = Math.min(BLOCK - this.filled, rest.length);
      rest.copy(this.block, this.filled, 0, n);
      this.filled += n;
      rest = rest.subarray(n);
      if (this.filled === BLOCK) {
        await this.flush(this.block);
        this.filled = 0;
      }
    }
  }

  /** Writes what is left and sets the file's length (the trailing hole, if any). */
  async end(size: number): Promise<void> {
    if (this.filled > 0) await this.flush(this.block.subarray(0, this.filled));
    this.filled = 0;
    await this.handle.truncate(size);
  }

  private async flush(data: Buffer): Promise<void> {
    if (!data.equals(ZEROS.subarray(0, data.length))) {
      await this.handle.write(data, 0, data.length, this.position);
    }
    this.position += data.length;
  }
}
