export * from './queue-names.js';
export type * from './payloads.js';
export * from './job-ids.js';
export * from './snapshot-groups.js';
export * from './job-options.js';
export * from './request-queues.js';
export * from './request-payloads.js';
export * from './request-queues.producer.js';
export * from './tick-repeat-strategy.js';
