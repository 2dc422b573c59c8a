export type * from './snapshot-driver.js';
export * from './errors.js';
