import type { EventEmitter } from 'node:events';
import { SnapshotTimeoutError } from '../errors.js';
import type { Snapshot, SnapshotRef } from '../snapshot-driver.js';
import { asError } from '../shared/as-error.js';
import { onAnyAbort, throwIfAnyAborted } from '../shared/abortable.js';
import { notReadyMessage, settledSnapshot } from '../shared/readiness.js';
import { copySnapshot, keyOf } from './memory-store.js';

/**
 * Resolves once the snapshot `read()` returns is Ready, listening to its change events on
 * `changes` (no polling); rejects as `settledSnapshot` says, on timeout, or on abort. Every
 * listener and timer is removed when it settles.
 */
export function waitForReady(
  changes: EventEmitter,
  read: () => Snapshot | undefined,
  ref: SnapshotRef,
  timeoutMs: number,
  signals: readonly (AbortSignal | undefined)[],
): Promise<Snapshot> {
  return new Promise((resolve, reject) => {
    const event = keyOf(ref);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      offAbort();
      changes.off(event, onChange);
      settle();
    };
    const fail = (error: unknown) => finish(() => reject(asError(error)));
    const onChange = () => {
      try {
        const ready = settledSnapshot(read(), ref);
        if (ready) finish(() => resolve(copySnapshot(ready)));
      } catch (error) {
        fail(error);
      }
    };
    const timer = setTimeout(
      () => fail(new SnapshotTimeoutError(notReadyMessage(ref, timeoutMs))),
      timeoutMs,
    );
    const offAbort = onAnyAbort(signals, fail);
    changes.on(event, onChange);
    try {
      throwIfAnyAborted(signals);
      onChange();
    } catch (error) {
      fail(error);
    }
  });
}
