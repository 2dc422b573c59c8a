import { expect } from '@jest/globals';
import type { AuditEntry, SnapshotRequestView } from './kube-requests.js';

/*
 * Checks shared by the race suites (local mode and kubernetes mode): operations per volume
 * from the audit log, and how a request that lost a race must end.
 */

/** Per volume, the snapshot operations whose `snapshot.started` … end intervals overlap. */
export function overlappingOperations(events: AuditEntry[]): string[] {
  const open = new Map<string, string>();
  const found: string[] = [];
  const ends = new Set(['snapshot.ready', 'snapshot.failed', 'snapshot.blocked', 'job.failed']);
  for (const e of events) {
    if (e.volume === undefined || e.snapshot === undefined) continue;
    const running = open.get(e.volume);
    if (e.type === 'snapshot.started') {
      if (running !== undefined && running !== e.snapshot) {
        found.push(`${e.volume}: ${e.snapshot} started while ${running} in flight`);
      }
      open.set(e.volume, e.snapshot);
    } else if ((ends.has(e.type) || e.type === 'job.retrying') && running === e.snapshot) {
      open.delete(e.volume);
    }
  }
  return found;
}

/** A final request: Succeeded, or Failed with a message and an error for each failed claim. */
export function expectSettledWithReasons(view: SnapshotRequestView): void {
  expect(['Succeeded', 'Failed']).toContain(view.phase);
  if (view.phase === 'Succeeded') return;
  expect(view.message).toBeTruthy();
  const failedClaims = view.snapshots.filter((s) => !s.readyToUse);
  expect(failedClaims.length).toBeGreaterThan(0);
  for (const claim of failedClaims) expect(claim.error).toBeTruthy();
}
