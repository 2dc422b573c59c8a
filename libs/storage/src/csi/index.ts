export { CsiDriver, type CsiDriverOptions } from './csi.driver.js';
export { type CsiInformers } from './csi-caches.js';
export { type ImportSnapshotInput } from './csi-import.js';
export {
  DEFAULT_MAX_SNAPSHOTS,
  KNOWN_DRIVERS,
  MAX_SNAPSHOTS_ANNOTATION,
  type CsiDriverRules,
} from './driver-rules.js';
export { parseQuantity, quantityBytes } from './quantity.js';
