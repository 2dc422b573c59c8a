import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from '#lib/config';
import {
  createLogger,
  NestPinoLogger,
  routeConsoleToLogger,
  startEmbeddedRedis,
  type EmbeddedRedis,
} from '#lib/runtime';
import { setupApiDocs } from '../../api/src/api-docs.js';
import { applySecurityHeaders } from '../../api/src/security-headers.js';
import { AppModule } from './app.module.js';

/**
 * How long a shutdown waits for the app to drain (workers finish their active jobs). A job cut
 * off after that is retried by another worker once its lock expires (invariant 5).
 */
const DRAIN_DEADLINE_MS = 10_000;

/** What a signal must stop, filled in as start-up progresses. */
interface Running {
  app?: INestApplication;
  embedded?: EmbeddedRedis;
  stopping: boolean;
}

/**
 * `npm start`: one process running the roles of `SNAPWARDEN_ROLES` (all by default). In local
 * mode without `REDIS_URL` it starts its own redis-server (in its own process group, so that
 * Ctrl-C reaches the app only) and stops it after the app has drained.
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
  routeConsoleToLogger(logger);
  const running: Running = { stopping: false };
  // Handlers first: a signal during start-up must still stop what has been started.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void shutdown(running, logger, signal));
  }
  if (!config.redisUrl) {
    running.embedded = await startEmbeddedRedis(config.dataDir);
    logger.info(
      { url: running.embedded.url, dir: `${config.dataDir}/redis` },
      'embedded redis started',
    );
  }
  const redisUrl = config.redisUrl ?? running.embedded?.url ?? '';
  try {
    const app = await NestFactory.create(AppModule.forRoles(config, redisUrl, logger), {
      logger: new NestPinoLogger(logger),
    });
    applySecurityHeaders(app);
    running.app = app;
    if (config.roles.includes('api')) setupApiDocs(app);
    await app.listen(config.port, config.host);
  } catch (error) {
    // Don't leave an embedded redis-server behind when start-up fails (e.g. port in use).
    await stopEmbedded(running, logger);
    throw error;
  }
  logger.info(
    { port: config.port, roles: config.roles, mode: config.mode, dataDir: config.dataDir },
    'snapwarden started',
  );
}

/**
 * Our own signal handling rather than enableShutdownHooks: the app (workers finish their active
 * jobs) must close before the embedded Redis it talks to, within {@link DRAIN_DEADLINE_MS}. A
 * second signal stops at once.
 */
async function shutdown(running: Running, logger: Logger, signal: string): Promise<void> {
  if (running.stopping) {
    logger.warn({ signal }, 'second signal: stopping without waiting for the drain');
    await stopEmbedded(running, logger);
    process.exit(1);
  }
  running.stopping = true;
  logger.info({ signal }, 'shutting down');
  const drained = running.app ? await withDeadline(running.app.close(), DRAIN_DEADLINE_MS) : true;
  if (!drained) {
    logger.warn(
      { deadlineMs: DRAIN_DEADLINE_MS },
      'app did not drain in time; its active jobs are retried once their locks expire',
    );
  }
  await stopEmbedded(running, logger);
  // An exit code set before the signal (a fatal condition found after start-up) is kept.
  process.exit(drained ? (process.exitCode ?? 0) : 1);
}

async function stopEmbedded(running: Running, logger: Logger): Promise<void> {
  const embedded = running.embedded;
  if (embedded === undefined) return;
  running.embedded = undefined;
  await embedded.stop();
  logger.info({ port: embedded.port }, 'embedded redis stopped');
}

/** True when `work` settles within `ms` (a rejection counts: the app is as closed as it gets). */
async function withDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = work.then(
    () => true,
    () => true,
  );
  const result = await Promise.race([settled, late]);
  clearTimeout(timer);
  return result;
}

main().catch((error: unknown) => {
  // One JSON line like every other, whether or not the logger exists yet.
  const line = {
    level: 60,
    time: new Date().toISOString(),
    service: 'snapwarden',
    msg: `snapwarden failed to start: ${(error as Error).message}`,
  };
  process.stderr.write(`${JSON.stringify(line)}\n`);
  process.exit(1);
});
