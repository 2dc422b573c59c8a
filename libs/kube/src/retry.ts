import { type KubeApiError, toKubeApiError } from './kube-api-error.js';

/** How failed requests are retried. */
export interface RetryOptions {
  /** Attempts in total, the first included (default 5). */
  maxAttempts?: number;
  /** First backoff delay; doubles per attempt, capped at `maxDelayMs` (defaults 200 ms, 5 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Whether a failure may be retried: 429 always (the server refused before doing anything), 5xx
 * and unreachable servers only for idempotent requests (a 500 on a create may have created).
 */
export function isRetryable(error: KubeApiError, idempotent: boolean): boolean {
  if (error.statusCode === 429) return true;
  return idempotent && (error.statusCode === 0 || error.statusCode >= 500);
}

/** Runs `call`, retrying retryable failures with exponential backoff or the server's Retry-After. */
export async function withRetry<T>(
  call: () => Promise<T>,
  idempotent: boolean,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (raw) {
      const error = toKubeApiError(raw);
      if (attempt >= maxAttempts || !isRetryable(error, idempotent)) throw error;
      await sleep(delayFor(error, attempt, options));
    }
  }
}

function delayFor(error: KubeApiError, attempt: number, options: RetryOptions): number {
  if (error.retryAfterSeconds !== undefined) return error.retryAfterSeconds * 1000;
  const base = options.baseDelayMs ?? 200;
  return Math.min(options.maxDelayMs ?? 5000, base * 2 ** (attempt - 1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
