/**
 * `#lib/policy`: the BackupPolicy contract and the pure domain rules around it (validation,
 * schedule maths, names, labels, retention planning). No Nest, BullMQ or Redis in here; time
 * is always a parameter.
 */
export * from './duration.js';
export * from './field-errors.js';
export * from './hooks.schema.js';
export * from './jitter.js';
export * from './json-schema.js';
export * from './k8s-syntax.js';
export * from './label-selector.js';
export * from './labels.js';
export * from './policy.schema.js';
export * from './policy.validate.js';
export * from './retention-footprint.js';
export * from './retention-plan.types.js';
export * from './retention-planner.js';
export { retentionBucket, type RetentionPeriod } from './retention-rules.js';
export * from './schedule.js';
export * from './snapshot-name.js';
export * from './time-zone.js';
export * from './requests.schema.js';
export * from './request-status.js';
export * from './crd.js';
export * from './objects.js';
export * from './unsafe-keys.js';
