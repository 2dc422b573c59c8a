export * from './runtime.constants.js';
export * from './runtime.module.js';
export * from './queue-registry.js';
export * from './redis-connection.js';
export * from './embedded-redis.js';
export * from './logger.js';
export * from './readiness.js';
export * from './engine-deps.factory.js';
