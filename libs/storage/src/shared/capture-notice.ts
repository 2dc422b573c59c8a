import type { OperationReport, Snapshot } from '../snapshot-driver.js';

const NAMED = 5;

/**
 * One line for the audit event of a ready snapshot that is not a clean point-in-time copy:
 * "crash-consistent: 3 files changed while read (a.log, b.db, c); build interrupted at T and
 * redone: the data is the volume as of T2". Undefined when there is nothing to say.
 */
export function captureNotice(snapshot: Snapshot): string | undefined {
  const capture = snapshot.capture;
  if (!capture) return undefined;
  const parts: string[] = [];
  if (capture.changedCount > 0) {
    const noun = capture.changedCount === 1 ? 'file' : 'files';
    const shown = capture.changedWhileRead.slice(0, NAMED).join(', ');
    const more = capture.changedCount > NAMED ? ', …' : '';
    parts.push(
      `crash-consistent: ${capture.changedCount} ${noun} changed while read (${shown}${more})`,
    );
  }
  const skipped = capture.skipped ?? [];
  if (skipped.length > 0) {
    const more = skipped.length > NAMED ? ', …' : '';
    parts.push(
      `${skipped.length} socket or device ${skipped.length === 1 ? 'entry' : 'entries'} not ` +
        `archived (${skipped.slice(0, NAMED).join(', ')}${more})`,
    );
  }
  if (capture.rebuiltAt) {
    parts.push(
      `build interrupted at ${capture.interruptedAt ?? 'an unknown time'} and redone: ` +
        `the data is the volume as of ${capture.rebuiltAt}`,
    );
  }
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** `{ message }` for an audit event of the ready snapshot, or nothing when all was clean. */
export function captureMessage(snapshot: Snapshot): { message?: string } {
  const message = captureNotice(snapshot);
  return message === undefined ? {} : { message };
}

/**
 * `; the rollback of snapshot s started at T was cut short by a crash and redone`, to append
 * to a restore's result message; empty when nothing was interrupted.
 */
export function interruptionNote(report: OperationReport | void): string {
  const interrupted = report ? report.interrupted : undefined;
  if (!interrupted) return '';
  const { operation, snapshot, startedAt } = interrupted;
  return `; the ${operation} of snapshot ${snapshot} started at ${startedAt} was cut short by a crash and redone`;
}
