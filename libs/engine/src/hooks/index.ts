export * from './hook-executor.js';
export * from './hook-runner.js';
export * from './pending-hooks.js';
export * from './local-hook-executor.js';
