export type * from './snapshot-driver.js';
export * from './errors.js';
export { createDriver, type DriverConfig } from './create-driver.js';
export * from './csi/index.js';
export { LocalDriver, type LocalDriverOptions } from './local/local.driver.js';
export {
  MemoryDriver,
  type MemoryDriverOptions,
  type MemoryDriverStats,
  type MemoryOperation,
  type MemorySnapshotInput,
  type MemoryVolumeInput,
} from './memory/memory.driver.js';
export { RESTORED_FROM_LABEL } from './shared/restore-rules.js';
export { captureMessage, captureNotice, interruptionNote } from './shared/capture-notice.js';
