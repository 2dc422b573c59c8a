import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { OperationReport } from '../snapshot-driver.js';
import { unlessMissing, writeFileAtomic } from './fs-util.js';
import type { LocalLayout } from './local-layout.js';

type Interrupted = NonNullable<OperationReport['interrupted']>;

/**
 * A note per volume, `<volumes>/.<volume>.operation.json`, written before a restore or
 * rollback changes anything and removed when it ends, however it ends. Operations on a volume
 * are exclusive (this process's lock, the engine's volume lease across processes), so a note
 * found at the start of the next one is an operation a crash cut short: it is reported.
 */
export class OperationJournal {
  constructor(
    private readonly layout: LocalLayout,
    private readonly clock: () => Date,
  ) {}

  async around<T>(
    volume: string,
    entry: Omit<Interrupted, 'startedAt'>,
    work: () => Promise<T>,
  ): Promise<{ result: T; interrupted?: Interrupted }> {
    const file = join(this.layout.volumesDir, `.${volume}.operation.json`);
    const previous = await unlessMissing(() => readFile(file, 'utf8'));
    const interrupted = previous === undefined ? undefined : parse(previous);
    await writeFileAtomic(
      file,
      JSON.stringify({ ...entry, startedAt: this.clock().toISOString() }),
    );
    try {
      const result = await work();
      return interrupted ? { result, interrupted } : { result };
    } finally {
      await rm(file, { force: true });
    }
  }
}

function parse(text: string): Interrupted {
  try {
    const value = JSON.parse(text) as Partial<Interrupted>;
    return {
      operation: value.operation === 'rollback' ? 'rollback' : 'restore',
      snapshot: typeof value.snapshot === 'string' ? value.snapshot : 'unknown',
      startedAt: typeof value.startedAt === 'string' ? value.startedAt : 'an unknown time',
    };
  } catch {
    // A note cut short itself still says that something was.
    return { operation: 'restore', snapshot: 'unknown', startedAt: 'an unknown time' };
  }
}
