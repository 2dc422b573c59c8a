import { CsiDriver, type CsiDriverOptions } from './csi/csi.driver.js';
import { LocalDriver } from './local/local.driver.js';
import { MemoryDriver, type MemoryDriverOptions } from './memory/memory.driver.js';
import type { SnapshotDriver } from './snapshot-driver.js';

/** Which driver to build, and its settings. */
export type DriverConfig =
  | { kind: 'local'; dataDir: string; maxSnapshotsPerVolume?: number }
  | { kind: 'memory'; options?: MemoryDriverOptions }
  | ({ kind: 'csi' } & CsiDriverOptions);

/** Builds the configured `SnapshotDriver`; the only place that knows every driver class. */
export function createDriver(config: DriverConfig): SnapshotDriver {
  switch (config.kind) {
    case 'local':
      return new LocalDriver({
        dataDir: config.dataDir,
        maxSnapshotsPerVolume: config.maxSnapshotsPerVolume,
      });
    case 'memory':
      return new MemoryDriver(config.options);
    case 'csi':
      return new CsiDriver(config);
    default:
      return unknownKind(config);
  }
}

function unknownKind(config: never): never {
  throw new Error(
    `unknown storage driver kind ${JSON.stringify((config as { kind: unknown }).kind)}`,
  );
}
