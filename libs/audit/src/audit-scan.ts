import type { Redis } from 'ioredis';
import type { AuditEvent } from './audit-event.js';
import { fromStreamEntry } from './audit-codec.js';
import type { AuditQueryPlan } from './audit-filter.js';
import { encodeStreamCursor } from './cursor.js';
import type { Page } from './page.js';
import { collectPage, type ScanBudget, type ScanEntry } from './paged-scan.js';

/** Pages through the audit stream in the plan's order (XREVRANGE or XRANGE in batches). */
export function scanStream(
  redis: Redis,
  key: string,
  plan: AuditQueryPlan,
  budget: ScanBudget,
): Promise<Page<AuditEvent>> {
  const read = async (after: string | undefined, count: number) => {
    const { start, end } = plan.range;
    const entries =
      plan.order === 'desc'
        ? await redis.xrevrange(key, after === undefined ? end : `(${after}`, start, 'COUNT', count)
        : await redis.xrange(key, after === undefined ? start : `(${after}`, end, 'COUNT', count);
    return entries.map(([id, fields]): ScanEntry<AuditEvent> => ({
      position: id,
      item: fromStreamEntry(id, fields),
    }));
  };
  return collectPage(
    {
      limit: plan.limit,
      selective: plan.selective,
      read,
      matches: plan.matches,
      cursor: encodeStreamCursor,
    },
    budget,
  );
}
