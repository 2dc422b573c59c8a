export { loadConfig, ConfigError, type Config, type KubeSettings } from './config.js';
export { EnvSchema, type Env, type Role } from './config.schema.js';
export {
  parseSentinelList,
  parseSentinelUrl,
  sentinelUrl,
  type RedisSentinelSettings,
  type SentinelAddress,
} from './redis-target.js';
