/** One page of a cursor-paginated listing. */
export interface Page<T> {
  items: T[];
  /**
   * Opaque cursor for the next page, absent when the listing is exhausted. A page may hold
   * fewer than `limit` items (even none) and still carry a cursor: the scan work per query is
   * bounded, so a selective filter returns what it found so far and where to continue.
   */
  nextCursor?: string;
}

/** Page size when the caller gives none. */
export const DEFAULT_PAGE_LIMIT = 50;

/** Largest page a query returns. */
export const MAX_PAGE_LIMIT = 500;

/** Clamps a requested page size to `1..MAX_PAGE_LIMIT`, defaulting to {@link DEFAULT_PAGE_LIMIT}. */
export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_PAGE_LIMIT;
  return Math.min(MAX_PAGE_LIMIT, Math.max(1, Math.floor(limit)));
}
