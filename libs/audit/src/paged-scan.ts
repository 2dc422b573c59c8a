import type { Page } from './page.js';

/** One entry read from an ordered source: where it sits, and the item (absent if unreadable). */
export interface ScanEntry<T> {
  position: string;
  item: T | undefined;
}

/** How much of an ordered source one query may read. */
export interface ScanBudget {
  /** Entries per read when the filter is selective. */
  batchSize: number;
  /** Reads per query; past it the page ends with a cursor to continue. */
  maxBatches: number;
}

/** An ordered source (stream or index) walked in batches by {@link collectPage}. */
export interface PagedScan<T> {
  limit: number;
  /** Whether items must be checked one by one (then batches are larger than the page). */
  selective: boolean;
  /** Reads up to `count` entries after `position` (from the start when undefined). */
  read: (position: string | undefined, count: number) => Promise<ScanEntry<T>[]>;
  matches: (item: T) => boolean;
  cursor: (position: string) => string;
}

/** Default budget: 20 reads of 250 entries, so a query reads at most 10 000 entries. */
export const DEFAULT_SCAN_BUDGET: ScanBudget = { batchSize: 250, maxBatches: 20 };

function page<T>(items: T[], nextCursor: string | undefined): Page<T> {
  return nextCursor === undefined ? { items } : { items, nextCursor };
}

/**
 * Collects one page: reads batches in order, keeping matching items, until the page is full,
 * the source is exhausted, or the budget is spent; the cursor then resumes after the last
 * entry read, so consecutive pages neither skip nor repeat entries.
 */
export async function collectPage<T>(scan: PagedScan<T>, budget: ScanBudget): Promise<Page<T>> {
  const items: T[] = [];
  // Unfiltered pages read one entry more than they return, to know whether another page exists.
  const count = scan.selective ? Math.max(scan.limit, budget.batchSize) : scan.limit + 1;
  let position: string | undefined;
  for (let batch = 0; batch < budget.maxBatches; batch++) {
    const entries = await scan.read(position, count);
    for (const [index, entry] of entries.entries()) {
      position = entry.position;
      if (entry.item === undefined || !scan.matches(entry.item)) continue;
      items.push(entry.item);
      if (items.length < scan.limit) continue;
      const more = index < entries.length - 1 || entries.length === count;
      return page(items, more ? scan.cursor(position) : undefined);
    }
    if (entries.length < count) return page(items, undefined);
  }
  return page(items, position === undefined ? undefined : scan.cursor(position));
}
