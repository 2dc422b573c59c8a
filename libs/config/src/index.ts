export { loadConfig, ConfigError, type Config } from './config.js';
export { EnvSchema, type Env, type Role } from './config.schema.js';
