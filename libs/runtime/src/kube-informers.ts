import {
  Informer,
  type InformerStatus,
  type KubeClient,
  type PersistentVolumeClaim,
  type VolumeSnapshot,
} from '#lib/kube';
import type { Readiness } from './readiness.js';

/** An informer that has heard nothing (events, bookmarks, lists) for this long is stale. */
export const INFORMER_STALE_AFTER_MS = 5 * 60_000;

/** The informers kubernetes mode shares with the csi driver, so that `/readyz` can see them. */
export interface KubeInformers {
  snapshotInformer: Informer<VolumeSnapshot>;
  claimInformer: Informer<PersistentVolumeClaim>;
}

/** VolumeSnapshot and PersistentVolumeClaim informers over every namespace. */
export function createKubeInformers(kube: KubeClient): KubeInformers {
  return {
    snapshotInformer: new Informer(kube, kube.volumeSnapshotSource()),
    claimInformer: new Informer(kube, kube.claimSource()),
  };
}

/**
 * Why an informer is not ready: not synced (with its last error), or stale (nothing heard for
 * `staleAfterMs`); `undefined` when it is fresh.
 */
export function informerProblem(
  what: string,
  status: InformerStatus,
  now = Date.now(),
  staleAfterMs = INFORMER_STALE_AFTER_MS,
): string | undefined {
  if (!status.synced) {
    return `${what} informer not synced${status.lastError ? `: ${status.lastError}` : ''}`;
  }
  const quietMs = now - (status.lastEventAt?.getTime() ?? 0);
  if (quietMs <= staleAfterMs) return undefined;
  return `${what} informer stale: nothing heard for ${Math.round(quietMs / 1000)}s`;
}

/**
 * Registers `/readyz` checks for the shared informers. An informer that was never started
 * (this process's roles have not needed the driver yet) is not a problem.
 */
export function registerInformerReadiness(readiness: Readiness, informers: KubeInformers): void {
  const entries = [
    ['VolumeSnapshot', informers.snapshotInformer],
    ['PersistentVolumeClaim', informers.claimInformer],
  ] as const;
  readiness.register('kube-informers', () => {
    const problems = entries
      .filter(([, informer]) => informer.status().lastSyncAt !== undefined)
      .map(([what, informer]) => informerProblem(what, informer.status()))
      .filter((p) => p !== undefined);
    return problems.length > 0 ? problems.join('; ') : undefined;
  });
}
