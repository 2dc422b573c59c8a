import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig, type Config } from '#lib/config';
import { createLogger, NestPinoLogger, startEmbeddedRedis, type EmbeddedRedis } from '#lib/runtime';
import { setupApiDocs } from '../../api/src/api-docs.js';
import { applySecurityHeaders } from '../../api/src/security-headers.js';
import { AppModule } from './app.module.js';

/**
 * `npm start`: one process running the roles of `SNAPWARDEN_ROLES` (all by default). In local
 * mode without `REDIS_URL` it starts its own redis-server and stops it on exit.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let embedded: EmbeddedRedis | undefined;
  if (!config.redisUrl) {
    embedded = await startEmbeddedRedis(config.dataDir);
    logger.info({ url: embedded.url, dir: `${config.dataDir}/redis` }, 'embedded redis started');
  }
  const redisUrl = config.redisUrl ?? embedded?.url ?? '';
  let app: INestApplication;
  try {
    app = await NestFactory.create(AppModule.forRoles(config, redisUrl, logger), {
      logger: new NestPinoLogger(logger),
    });
    applySecurityHeaders(app);
    if (config.roles.includes('api')) setupApiDocs(app);
    await app.listen(config.port, config.host);
  } catch (error) {
    // Don't leave an embedded redis-server behind when start-up fails (e.g. port in use).
    await embedded?.stop();
    throw error;
  }
  logger.info(
    { port: config.port, roles: config.roles, mode: config.mode, dataDir: config.dataDir },
    'snapwarden started',
  );
  const stop = async () => {
    await embedded?.stop();
    logger.info('embedded redis stopped');
  };
  // Our own signal handling rather than enableShutdownHooks: the app (workers finish their
  // active jobs) must close before the embedded Redis it talks to.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void app
        .close()
        .then(stop)
        .finally(() => process.exit(0));
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`snapwarden failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
