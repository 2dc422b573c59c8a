import {
  evaluate,
  sortOldestFirst,
  type Evaluation,
  type KeepCategory,
} from './retention-evaluate.js';
import {
  PROTECTED_BY_ON_DEMAND,
  type PlanPrune,
  type PlanSnapshot,
  type RetentionInput,
  type RetentionPlan,
} from './retention-plan.types.js';
import type { RuleCandidate } from './retention-rules.js';
import { isValidTimeZone } from './time-zone.js';

/**
 * Plans rotation for one volume: which snapshots stay, which go, and whether (and after which
 * deletions) `incoming` may be created. Pure and deterministic: the same input, in any order,
 * gives the same plan.
 *
 * Invariants:
 * - Cap (product invariant 1): every snapshot in `snapshots` counts; when `canCreate` with a new
 *   incoming snapshot, `snapshots.length − pruneBeforeCreate.length + 1 ≤ limit ≤ cap`.
 * - Safety (invariant 2): `prune` never holds an unmanaged, protected, Creating or Terminating
 *   snapshot, nor the newest ready snapshot of the volume (managed or not).
 * - Keep rules (restic semantics, buckets in `timeZone`) see managed ready snapshots plus, for
 *   the scheduled budget, `incoming` as ready and newest. `maxAge` is an upper bound: an older
 *   managed snapshot is pruned even when a rule keeps it (unlike restic's keep-within).
 * - `limit` is `cap` for the on-demand budget; for the scheduled budget `cap − reservedSlots`,
 *   where snapshots protected as `on-demand` occupy reserved slots first (the slots exist for
 *   them, so holding one must not stop scheduled backups).
 * - Incoming whose name already exists: Creating or Ready is adopted (no new slot, nothing to
 *   prune first); a managed Failed one is deleted first; otherwise creation is blocked.
 * - When blocked, `keep`/`prune` are those of the volume without `incoming`, safe to apply.
 *
 * Throws a `RangeError` for an invalid cap, reservedSlots, time zone or `now` (caller bugs;
 * policies are validated by `parseBackupPolicy`).
 */
export function planRetention(input: RetentionInput): RetentionPlan {
  assertPlannable(input);
  const snapshots = sortOldestFirst(input.snapshots);
  const limit = budgetLimit(input, snapshots);
  const incoming = input.incoming;
  if (incoming === undefined)
    return settled(evaluate(snapshots, input, { kind: 'none' }), snapshots, limit);
  const existing = snapshots.find((s) => s.name === incoming.name);
  if (existing === undefined) return create(snapshots, input, limit, incoming);
  switch (existing.state) {
    case 'Creating':
    case 'Ready':
      return settled(
        evaluate(snapshots, input, { kind: 'adopt', name: existing.name }),
        snapshots,
        limit,
      );
    case 'Failed':
      if (existing.managed && existing.protectedBy === undefined) {
        return create(snapshots, input, limit, incoming, existing.name);
      }
      return blocked(
        snapshots,
        input,
        limit,
        `a failed snapshot named "${existing.name}" exists and is not rotation's to delete`,
      );
    case 'Terminating':
      return blocked(
        snapshots,
        input,
        limit,
        `snapshot "${existing.name}" is still terminating; it can be taken again once it is gone`,
      );
  }
}

function create(
  snapshots: PlanSnapshot[],
  input: RetentionInput,
  limit: number,
  incoming: RuleCandidate,
  mustPrune?: string,
): RetentionPlan {
  const evaluation = evaluate(snapshots, input, { kind: 'create', incoming });
  const need = snapshots.length + 1 - limit;
  const before = choosePruneBeforeCreate(evaluation.prune, need, mustPrune);
  if (before === undefined) {
    return blocked(snapshots, input, limit, limitReason(evaluation, input, snapshots.length, need));
  }
  return {
    keep: evaluation.keep,
    prune: evaluation.prune,
    pruneBeforeCreate: before,
    canCreate: true,
    limit,
    countedAfter: snapshots.length - evaluation.prune.length + 1,
  };
}

/** The fewest oldest prunes that make room (a same-named failed snapshot goes first). */
function choosePruneBeforeCreate(
  prune: PlanPrune[],
  need: number,
  mustPrune?: string,
): string[] | undefined {
  const names = prune.map((p) => p.name);
  const ordered =
    mustPrune === undefined ? names : [mustPrune, ...names.filter((n) => n !== mustPrune)];
  const count = Math.max(need, mustPrune === undefined ? 0 : 1);
  return count <= ordered.length ? ordered.slice(0, count) : undefined;
}

function settled(evaluation: Evaluation, snapshots: PlanSnapshot[], limit: number): RetentionPlan {
  return {
    keep: evaluation.keep,
    prune: evaluation.prune,
    pruneBeforeCreate: [],
    canCreate: true,
    limit,
    countedAfter: snapshots.length - evaluation.prune.length,
  };
}

function blocked(
  snapshots: PlanSnapshot[],
  input: RetentionInput,
  limit: number,
  reason: string,
): RetentionPlan {
  return {
    ...settled(evaluate(snapshots, input, { kind: 'none' }), snapshots, limit),
    canCreate: false,
    blockedReason: reason,
  };
}

function budgetLimit(input: RetentionInput, snapshots: PlanSnapshot[]): number {
  if (input.budget === 'on-demand') return input.cap;
  const heldByOnDemand = snapshots.filter((s) => s.protectedBy === PROTECTED_BY_ON_DEMAND).length;
  return Math.max(0, input.cap - Math.max(0, input.reservedSlots - heldByOnDemand));
}

const CATEGORY_TEXT: readonly [KeepCategory, string][] = [
  ['unmanaged', 'not managed by this policy'],
  ['protected', 'protected'],
  ['terminating', 'terminating'],
  ['creating', 'creating'],
  ['not-ready', 'not ready'],
  ['retained', 'kept by retention'],
];

function limitReason(
  evaluation: Evaluation,
  input: RetentionInput,
  counted: number,
  need: number,
): string {
  const parts = CATEGORY_TEXT.flatMap(([category, text]) => {
    const n = evaluation.categories.get(category) ?? 0;
    // An on-demand snapshot belongs to no policy and prunes nothing: every snapshot is held.
    const shown = category === 'unmanaged' && input.budget === 'on-demand' ? 'held' : text;
    return n > 0 ? [`${n} ${shown}`] : [];
  });
  if (evaluation.prune.length > 0) parts.push(`${evaluation.prune.length} prunable`);
  const reserved = input.budget === 'scheduled' ? ` with ${input.reservedSlots} reserved` : '';
  const breakdown = parts.length > 0 ? ` (${parts.join(', ')})` : '';
  return (
    `limit reached: volume holds ${counted} snapshots${breakdown} and the cap is ` +
    `${input.cap}${reserved}; a new snapshot needs ${need} pruned first but ${evaluation.prune.length} can be`
  );
}

function assertPlannable(input: RetentionInput): void {
  const { cap, reservedSlots, timeZone, now } = input;
  if (!(cap >= 1) || (Number.isFinite(cap) && !Number.isInteger(cap))) {
    throw new RangeError(`cap must be a positive integer or Infinity, got ${cap}`);
  }
  if (!Number.isInteger(reservedSlots) || reservedSlots < 0) {
    throw new RangeError(`reservedSlots must be a non-negative integer, got ${reservedSlots}`);
  }
  if (!isValidTimeZone(timeZone)) throw new RangeError(`unknown time zone "${timeZone}"`);
  if (Number.isNaN(now.getTime())) throw new RangeError('now is an invalid date');
}
