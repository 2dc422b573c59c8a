import { SnapshotFailedError, SnapshotNotFoundError } from '../errors.js';
import type { Snapshot, SnapshotRef } from '../snapshot-driver.js';

/**
 * What `waitUntilReady` makes of a snapshot's current state: the snapshot when it is Ready,
 * undefined while it is still Creating, and the error to reject with otherwise (missing,
 * Failed with its error text, or Terminating: it will never become ready).
 */
export function settledSnapshot(
  snapshot: Snapshot | undefined,
  ref: SnapshotRef,
): Snapshot | undefined {
  const label = `snapshot ${ref.namespace}/${ref.name}`;
  if (!snapshot) throw new SnapshotNotFoundError(`${label} does not exist`);
  switch (snapshot.state) {
    case 'Ready':
      return snapshot;
    case 'Creating':
      return undefined;
    case 'Failed':
      throw new SnapshotFailedError(`${label} failed: ${snapshot.error ?? 'no error reported'}`);
    case 'Terminating':
      throw new SnapshotFailedError(`${label} is being deleted`);
  }
}

/** The `SnapshotTimeoutError` message, the same for every driver. */
export function notReadyMessage(ref: SnapshotRef, timeoutMs: number): string {
  return `snapshot ${ref.namespace}/${ref.name} not ready within ${timeoutMs} ms`;
}
