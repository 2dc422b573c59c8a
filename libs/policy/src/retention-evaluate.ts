import { parseDuration } from './duration.js';
import type { PlanKeep, PlanPrune, PlanSnapshot, RetentionInput } from './retention-plan.types.js';
import { selectByRules, type RuleCandidate } from './retention-rules.js';

/** How the snapshot about to be created takes part in an evaluation. */
export type IncomingMode =
  | { kind: 'none' }
  /** A snapshot of that name exists already (a retried job): it is the incoming one. */
  | { kind: 'adopt'; name: string }
  | { kind: 'create'; incoming: RuleCandidate };

/** Why a snapshot stays; used for the counts in a blocked reason. */
export type KeepCategory =
  'incoming' | 'unmanaged' | 'protected' | 'terminating' | 'creating' | 'not-ready' | 'retained';

type Verdict =
  { keep: true; category: KeepCategory; reasons: string[] } | { keep: false; reason: string };

/** Keep/prune decisions for every snapshot of a volume, under one incoming mode. */
export interface Evaluation {
  keep: PlanKeep[];
  prune: PlanPrune[];
  categories: Map<KeepCategory, number>;
}

/** True for a snapshot that can be restored from. */
export function isReady(s: PlanSnapshot): boolean {
  return s.state === 'Ready' && s.readyToUse;
}

/** Orders snapshots oldest first (name breaks ties), so results do not depend on input order. */
export function sortOldestFirst(snapshots: readonly PlanSnapshot[]): PlanSnapshot[] {
  return [...snapshots].sort(
    (a, b) =>
      a.createdAt.getTime() - b.createdAt.getTime() ||
      compareText(a.name, b.name) ||
      compareText(a.state, b.state),
  );
}

/**
 * Decides every snapshot of `oldestFirst` (sorted by {@link sortOldestFirst}). Keep rules see
 * the managed ready snapshots plus the incoming one, which counts as ready and newest (only for
 * the scheduled budget: an on-demand snapshot is not the policy's). Never prunes an unmanaged,
 * protected, Creating or Terminating snapshot, nor the newest ready one of the volume.
 */
export function evaluate(
  oldestFirst: readonly PlanSnapshot[],
  input: RetentionInput,
  mode: IncomingMode,
): Evaluation {
  const ruleReasons = selectByRules(
    ruleCandidates(oldestFirst, input, mode),
    input.retention,
    input.timeZone,
  );
  const context: DecideContext = {
    ruleReasons,
    newestReady: oldestFirst.filter(isReady).at(-1),
    adoptName: mode.kind === 'adopt' ? mode.name : undefined,
    expiresBefore: maxAgeCutoff(input),
  };
  const result: Evaluation = { keep: [], prune: [], categories: new Map() };
  for (const snapshot of oldestFirst) record(result, snapshot.name, decide(snapshot, context));
  if (mode.kind === 'create') {
    const { name } = mode.incoming;
    record(result, name, {
      keep: true,
      category: 'incoming',
      reasons: ['incoming', ...(ruleReasons.get(name) ?? [])],
    });
  }
  // Recorded oldest first with the incoming snapshot last: reversed, newest first.
  result.keep.reverse();
  return result;
}

interface DecideContext {
  ruleReasons: Map<string, string[]>;
  newestReady: PlanSnapshot | undefined;
  adoptName: string | undefined;
  expiresBefore: number | undefined;
}

function decide(s: PlanSnapshot, ctx: DecideContext): Verdict {
  const rules = ctx.ruleReasons.get(s.name) ?? [];
  if (s.name === ctx.adoptName)
    return { keep: true, category: 'incoming', reasons: ['incoming', ...rules] };
  const fixed = untouchable(s);
  if (fixed !== undefined) return fixed;
  if (s === ctx.newestReady)
    return { keep: true, category: 'retained', reasons: ['newest-ready', ...rules] };
  if (s.state === 'Failed') return { keep: false, reason: 'failed' };
  if (!isReady(s)) return { keep: true, category: 'not-ready', reasons: ['not-ready'] };
  // maxAge is an upper bound, unlike restic's keep-within: it overrides the keep rules.
  if (ctx.expiresBefore !== undefined && s.createdAt.getTime() < ctx.expiresBefore) {
    return { keep: false, reason: 'max-age' };
  }
  if (rules.length > 0) return { keep: true, category: 'retained', reasons: rules };
  return { keep: false, reason: 'retention' };
}

/** Snapshots rotation never touches, whatever the rules say (invariant 2). */
function untouchable(s: PlanSnapshot): Verdict | undefined {
  if (!s.managed) return { keep: true, category: 'unmanaged', reasons: ['unmanaged'] };
  if (s.protectedBy !== undefined) {
    return { keep: true, category: 'protected', reasons: [`protected: ${s.protectedBy}`] };
  }
  if (s.state === 'Terminating')
    return { keep: true, category: 'terminating', reasons: ['terminating'] };
  if (s.state === 'Creating') return { keep: true, category: 'creating', reasons: ['creating'] };
  return undefined;
}

function ruleCandidates(
  oldestFirst: readonly PlanSnapshot[],
  input: RetentionInput,
  mode: IncomingMode,
): RuleCandidate[] {
  const newestFirst = oldestFirst.filter((s) => s.managed && isReady(s)).reverse();
  if (input.budget === 'on-demand') return newestFirst;
  switch (mode.kind) {
    case 'none':
      return newestFirst;
    case 'create':
      return [mode.incoming, ...newestFirst];
    case 'adopt': {
      const existing = oldestFirst.find((s) => s.name === mode.name);
      const rest = newestFirst.filter((s) => s.name !== mode.name);
      return existing === undefined ? rest : [existing, ...rest];
    }
  }
}

function record(result: Evaluation, name: string, verdict: Verdict): void {
  if (!verdict.keep) {
    result.prune.push({ name, reason: verdict.reason });
    return;
  }
  result.keep.push({ name, reasons: verdict.reasons });
  result.categories.set(verdict.category, (result.categories.get(verdict.category) ?? 0) + 1);
}

function maxAgeCutoff(input: RetentionInput): number | undefined {
  const maxAge = input.retention.maxAge;
  return maxAge === undefined ? undefined : input.now.getTime() - parseDuration(maxAge);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
