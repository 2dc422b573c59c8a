import type { Logger } from 'pino';
import type { Config } from '#lib/config';
import type { PolicySource } from '#lib/engine';
import type { KubeClient } from '#lib/kube';
import { CsiDriver, type SnapshotDriver } from '#lib/storage';
import { KubePolicyStatus } from '#lib/runtime';
import { PolicyCrSource, type ClassCaps } from './policy-cr.source.js';
import { PolicyFileSource } from './policy-file.source.js';

/**
 * The policy source of this process's mode: BackupPolicy custom resources in kubernetes mode
 * (one namespace or all), the policy folder in local mode.
 */
export function createPolicySource(
  config: Config,
  logger: Logger,
  kube: KubeClient | null,
  driver: SnapshotDriver,
): PolicySource {
  switch (config.mode) {
    case 'kubernetes':
      if (!kube) throw new Error('kubernetes mode needs a Kubernetes client');
      return new PolicyCrSource(kube, {
        namespace: config.kube.namespace,
        // A CSI cap belongs to a snapshot class: checked per policy against its class.
        context: { defaultDriver: config.driver, maxSnapshotsPerVolume: () => undefined },
        caps: classCaps(driver),
        status: new KubePolicyStatus(kube, 'snapwarden-scheduler'),
        volumes: (query) => driver.findVolumes(query),
        logger,
      });
    case 'local':
      return new PolicyFileSource(
        config.policyDir,
        {
          defaultDriver: config.driver,
          maxSnapshotsPerVolume: () => config.maxSnapshotsPerVolume,
        },
        // A change the folder watch misses is read within five resyncs (five minutes at most).
        { logger, sweepEveryMs: Math.min(5 * config.resyncIntervalMs, 300_000) },
      );
  }
}

/**
 * Caps of snapshot classes, from the csi driver's snapshot class informer (no request per
 * reconcile pass); none (retention unchecked against a class) with another driver.
 */
export function classCaps(driver: SnapshotDriver): ClassCaps | undefined {
  if (!(driver instanceof CsiDriver)) return undefined;
  return {
    capOf: (className) =>
      className === undefined
        ? Promise.resolve(undefined)
        : driver.snapshotClassCap(className).catch(() => undefined),
  };
}
