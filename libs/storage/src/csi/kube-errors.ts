import { KubeApiError } from '#lib/kube';
import { DriverError, InvalidRequestError, TransientDriverError } from '../errors.js';

/**
 * The driver error for a failed API call: unreachable, throttled, 5xx and write conflicts are
 * transient (a retry with backoff can help); a refusal of the request itself (400, 403, 422) is
 * not. Driver errors pass through unchanged.
 */
export function asDriverError(error: unknown): Error {
  if (error instanceof DriverError || !(error instanceof KubeApiError)) {
    return error instanceof Error ? error : new Error(String(error));
  }
  const { statusCode } = error;
  const text = `Kubernetes API: ${error.message} (${statusCode} ${error.reason})`;
  if (statusCode === 0 || statusCode === 409 || statusCode === 429 || statusCode >= 500) {
    return new TransientDriverError(text);
  }
  return new InvalidRequestError(text);
}

/** Runs an API call, translating its failure with {@link asDriverError}. */
export async function kubeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw asDriverError(error);
  }
}
