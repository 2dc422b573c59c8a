import { labelValue } from '#lib/policy';
import { type KubeClient, type LocalVolumeSnapshotRestore, type VolumeSnapshot } from '#lib/kube';
import { InvalidRequestError, SnapshotFailedError, SnapshotTimeoutError } from '../errors.js';
import { sleep } from '../shared/abortable.js';

/** How a rollback waits for HwameiStor. */
export interface RollbackWait {
  timeoutMs: number;
  pollMs: number;
  signal: AbortSignal;
}

/**
 * Rolls a HwameiStor volume back onto a snapshot: a `LocalVolumeSnapshotRestore` with
 * `restoreType: rollback` naming the snapshot's bound content, then waits for
 * `status.state: Completed` (`Failed` ⇒ `SnapshotFailedError` with HwameiStor's message).
 * Rollbacks are rare and short, so this re-reads the restore every `pollMs` (a timer, not a
 * busy loop) instead of keeping a watch open. The volume's I/O must be stopped by the caller.
 */
export async function rollbackHwameiStor(
  kube: KubeClient,
  vs: VolumeSnapshot,
  wait: RollbackWait,
): Promise<void> {
  const content = vs.status?.boundVolumeSnapshotContentName;
  if (content === undefined) {
    throw new InvalidRequestError(
      `snapshot ${vs.metadata.name} is not bound to a content yet`,
      'snapshot',
    );
  }
  const name = `${vs.metadata.name.slice(0, 200)}-rollback-${Date.now().toString(36)}`;
  const restore: LocalVolumeSnapshotRestore = {
    apiVersion: 'hwameistor.io/v1alpha1',
    kind: 'LocalVolumeSnapshotRestore',
    metadata: {
      name,
      labels: {
        'snapwarden.io/snapshot': labelValue(vs.metadata.name),
        'snapwarden.io/namespace': labelValue(vs.metadata.namespace ?? ''),
      },
    },
    spec: { sourceVolumeSnapshot: content, restoreType: 'rollback' },
  };
  await kube.createLocalVolumeSnapshotRestore(restore);
  await untilCompleted(kube, name, `${vs.metadata.namespace}/${vs.metadata.name}`, wait);
}

async function untilCompleted(
  kube: KubeClient,
  name: string,
  what: string,
  wait: RollbackWait,
): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    const current = await kube.getLocalVolumeSnapshotRestore(name);
    const state = current?.status?.state;
    if (state === 'Completed') return;
    if (state === 'Failed' || current === undefined) {
      const why = current?.status?.message ?? 'the restore object disappeared';
      throw new SnapshotFailedError(`rollback of ${what} failed: ${why}`);
    }
    if (Date.now() >= deadline) {
      throw new SnapshotTimeoutError(
        `rollback of ${what} not completed within ${wait.timeoutMs} ms (${state ?? 'no state'})`,
      );
    }
    await sleep(wait.pollMs, [wait.signal]);
  }
}
