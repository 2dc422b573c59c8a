export * from './audit-event.js';
export type { AuditFilter, QueryOrder } from './audit-filter.js';
export {
  AuditLog,
  type AuditBatch,
  type AuditLogOptions,
  type RunEndAnnouncement,
  type RunEndRef,
} from './audit-log.js';
export type { AuditListener, AuditSubscribeOptions, AuditSubscription } from './audit-tail.js';
export { type DailyRunCounts, MAX_DAILY_RANGE_DAYS } from './daily-counts.js';
export * from './errors.js';
export { auditKeys } from './keys.js';
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, type Page } from './page.js';
export { AUDIT_REDIS_OPTIONS } from './redis-options.js';
export type { RunFilter } from './run-filter.js';
export * from './run-record.js';
export type { ScanBudget } from './paged-scan.js';
export {
  RunStore,
  type LastVolumeResult,
  type RunStartEffects,
  type RunStartResult,
  type StoredAdmission,
  type RunStoreOptions,
  type Lease,
  type VolumeResultEffects,
  type VolumeUpdate,
} from './run-store.js';
export { LuaScript } from './lua-script.js';
export { APPEND_EVENTS_FUNCTION } from './audit-scripts.js';
