import type { Redis } from 'ioredis';
import { encodeRunCursor, parseRunIndexMember } from './cursor.js';
import { auditKeys } from './keys.js';
import type { Page } from './page.js';
import { collectPage, type ScanBudget } from './paged-scan.js';
import { decodeRun } from './run-codec.js';
import type { RunQueryPlan } from './run-filter.js';
import type { RunRecord } from './run-record.js';

/** Loads the runs behind index members (one pipelined round trip); gaps where a run is gone. */
export async function loadRuns(
  redis: Redis,
  prefix: string,
  members: readonly string[],
): Promise<(RunRecord | undefined)[]> {
  if (members.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const member of members) {
    pipeline.hgetall(auditKeys.run(prefix, parseRunIndexMember(member)?.id ?? ''));
  }
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, hash]) => {
    if (error) throw error;
    return decodeRun(new Map(Object.entries(hash as Record<string, string>)));
  });
}

function cursorOf(member: string): string {
  return encodeRunCursor(parseRunIndexMember(member) ?? { timeMs: 0, id: member });
}

/** Pages through a run index newest first (ZRANGE BYLEX REV in batches). */
export function scanRuns(
  redis: Redis,
  prefix: string,
  plan: RunQueryPlan,
  budget: ScanBudget,
): Promise<Page<RunRecord>> {
  const read = async (after: string | undefined, count: number) => {
    const max = after === undefined ? plan.range.max : `(${after}`;
    const members = await redis.zrange(
      plan.index,
      max,
      plan.range.min,
      'BYLEX',
      'REV',
      'LIMIT',
      0,
      count,
    );
    const records = await loadRuns(redis, prefix, members);
    return members.map((member, index) => ({ position: member, item: records[index] }));
  };
  return collectPage(
    { limit: plan.limit, selective: plan.selective, read, matches: plan.matches, cursor: cursorOf },
    budget,
  );
}
