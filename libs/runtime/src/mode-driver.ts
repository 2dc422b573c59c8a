import { join } from 'node:path';
import type { Config } from '#lib/config';
import { LocalHookExecutor, type HookExecutor } from '#lib/engine';
import { KubeWorkloads, type KubeClient } from '#lib/kube';
import { createDriver, MemoryDriver, type SnapshotDriver } from '#lib/storage';
import type { KubeInformers } from './kube-informers.js';
import { KubeHookExecutor } from './kube-hook-executor.js';
import { readMemorySeed } from './memory-seed.js';

/** The Kubernetes side of kubernetes mode: the client and the informers shared with the driver. */
export interface KubeParts {
  kube: KubeClient;
  informers: KubeInformers;
}

/**
 * The storage driver of this process's mode: `csi` over the Kubernetes client (with the shared
 * informers) in kubernetes mode; `local` (or `memory`, for demos and benchmarks) in local mode.
 */
export function createModeDriver(config: Config, kubeParts: KubeParts | undefined): SnapshotDriver {
  switch (config.driver) {
    case 'csi':
      if (!kubeParts) throw new Error('the csi driver needs a Kubernetes client (kubernetes mode)');
      return createDriver({ kind: 'csi', kube: kubeParts.kube, ...kubeParts.informers });
    case 'memory':
      return seededMemoryDriver(config);
    case 'local':
      return createDriver({
        kind: 'local',
        dataDir: config.dataDir,
        maxSnapshotsPerVolume: config.maxSnapshotsPerVolume,
      });
  }
}

/** The memory driver, holding the volumes of `SNAPWARDEN_MEMORY_VOLUMES_FILE` when set. */
function seededMemoryDriver(config: Config): MemoryDriver {
  const driver = new MemoryDriver({ maxSnapshotsPerVolume: config.maxSnapshotsPerVolume });
  if (config.memoryVolumesFile === undefined) return driver;
  for (const volume of readMemorySeed(config.memoryVolumesFile)) driver.addVolume(volume);
  return driver;
}

/**
 * Where hooks run: `pods/exec` in kubernetes mode; host commands in local mode, with the
 * volume's directory (local driver) as `SNAPWARDEN_VOLUME_PATH`.
 */
export function createHookExecutor(config: Config, kube: KubeClient | undefined): HookExecutor {
  if (kube) return new KubeHookExecutor(kube, new KubeWorkloads(kube));
  const volumesDir = join(config.dataDir, 'volumes');
  return new LocalHookExecutor((volume) =>
    config.driver === 'local' ? join(volumesDir, volume.name) : '',
  );
}
