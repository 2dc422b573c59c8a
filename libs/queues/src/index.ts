export * from './queue-names.js';
export type * from './payloads.js';
export * from './job-ids.js';
export * from './job-options.js';
