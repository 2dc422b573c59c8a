import type { RunRecord, RunStore } from '#lib/audit';
import type { PolicyStore } from './policy-store.js';
import type { RunObserver } from './run-observer.js';

/** What {@link catchUpPolicyStatus} reads and whom it tells. */
export interface StatusCatchUpDeps {
  policies: Pick<PolicyStore, 'keys'>;
  runs: Pick<RunStore, 'latestIds' | 'get'>;
  /** The status observer: its `runFinished` writes the status and Event and marks the run told. */
  observer: Pick<RunObserver, 'runFinished'>;
  /** The run last told to each policy (`markTold`), in the order of `policies`. */
  told: (policies: readonly string[]) => Promise<(string | undefined)[]>;
  clock: () => Date;
  /**
   * How long after its end a run is left to the process that closed it: its status write may be
   * waiting on the API server's rate limit, and telling it twice costs a request and an Event.
   */
  graceMs: number;
  /**
   * Most runs told in one pass (default {@link DEFAULT_LIMIT}): each costs API requests under the
   * client's rate limit, and the rest wait for the next pass.
   */
  limit?: number;
}

/** Runs told per pass by default: at 20 requests a second, a few seconds of the API's time. */
export const DEFAULT_LIMIT = 100;

/** What one pass found. */
export interface StatusCatchUpResult {
  policies: number;
  /** Policies whose latest run had not reached them, told again in this pass. */
  caughtUp: { policy: string; runId: string }[];
}

/** Policies compared per round trip. */
const PAGE = 1000;

/**
 * Kubernetes mode's safety net for run ends: a run is closed (its result and `run.finished` in
 * one atomic step) before the process that closed it writes the policy's status and Event, so a
 * worker killed in between, or an API server that refused the write, would leave the status on
 * an older run for as long as the policy does not run again (a day, for a daily policy). Each
 * pass compares every policy's latest finished run (the run store's pointer) with the run last
 * told to it, and tells again each one that differs and ended more than `graceMs` ago, at most
 * `limit` of them per pass.
 * At least once: a process killed after the write but before marking the run told has it
 * written twice (the status patch is idempotent; a Warning Event is repeated).
 */
export async function catchUpPolicyStatus(deps: StatusCatchUpDeps): Promise<StatusCatchUpResult> {
  const keys = await deps.policies.keys();
  const caughtUp: StatusCatchUpResult['caughtUp'] = [];
  const now = deps.clock().getTime();
  const limit = deps.limit ?? DEFAULT_LIMIT;
  for (let offset = 0; offset < keys.length && caughtUp.length < limit; offset += PAGE) {
    const page = keys.slice(offset, offset + PAGE);
    const [latest, told] = await Promise.all([deps.runs.latestIds(page), deps.told(page)]);
    for (const [index, policy] of page.entries()) {
      const runId = latest.get(policy);
      if (runId === undefined || runId === told[index]) continue;
      const run = await deps.runs.get(runId);
      if (!run || !endedBefore(run, now - deps.graceMs)) continue;
      await deps.observer.runFinished(run, policy);
      caughtUp.push({ policy, runId });
      if (caughtUp.length >= limit) break;
    }
  }
  return { policies: keys.length, caughtUp };
}

function endedBefore(run: RunRecord, limitMs: number): boolean {
  if (run.state === 'running') return false;
  const ended = Date.parse(run.finishedAt ?? run.createdAt);
  return Number.isFinite(ended) && ended <= limitMs;
}
