import type { LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';

/** Structured JSON logs on stdout, one object a line. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'snapwarden' }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** Nest's start-up chatter (one line per module and route): debug, not info. */
const STARTUP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/** Routes Nest's own log lines into the same JSON stream. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string) {
    if (context !== undefined && STARTUP_CONTEXTS.has(context)) {
      this.logger.debug({ context }, String(message));
    } else {
      this.logger.info({ context }, String(message));
    }
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}

/**
 * Sends what libraries print with `console.error`/`console.warn`/`console.log` (BullMQ and
 * ioredis print errors they cannot deliver, multi-line stack traces included) through the
 * logger, so that every line on stdout is one JSON object.
 */
export function routeConsoleToLogger(logger: Logger): void {
  const route =
    (level: 'error' | 'warn' | 'info') =>
    (...args: unknown[]): void => {
      const error = args.find((a): a is Error => a instanceof Error);
      const text = args.map((a) => (a instanceof Error ? a.message : formatArg(a))).join(' ');
      logger[level]({ source: 'console', ...(error ? { err: error.message } : {}) }, text);
    };
  console.error = route('error');
  console.warn = route('warn');
  console.log = route('info');
}

function formatArg(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
