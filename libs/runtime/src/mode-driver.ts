import type { Config } from '#lib/config';
import type { KubeClient } from '#lib/kube';
import { createDriver, type SnapshotDriver } from '#lib/storage';

/**
 * The storage driver of this process's mode: `csi` over the Kubernetes client in kubernetes
 * mode; `local` (or `memory`, for demos and benchmarks) in local mode.
 */
export function createModeDriver(config: Config, kube: KubeClient | undefined): SnapshotDriver {
  switch (config.driver) {
    case 'csi':
      if (!kube) throw new Error('the csi driver needs a Kubernetes client (kubernetes mode)');
      throw new Error('the csi driver is not available in this build');
    case 'memory':
      return createDriver({
        kind: 'memory',
        options: { maxSnapshotsPerVolume: config.maxSnapshotsPerVolume },
      });
    case 'local':
      return createDriver({
        kind: 'local',
        dataDir: config.dataDir,
        maxSnapshotsPerVolume: config.maxSnapshotsPerVolume,
      });
  }
}
