import type { ApiException } from '@kubernetes/client-node';
import { loadedClientNode } from './client-node.js';

/**
 * A failed Kubernetes API call: the HTTP status (0 when the server could not be reached), the
 * `Status.reason` (`NotFound`, `AlreadyExists`, `Conflict`, `TooManyRequests`, …) and message.
 */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    /** Seconds the server asked us to wait (`Retry-After`), for 429 and 503. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }

  get notFound(): boolean {
    return this.statusCode === 404;
  }

  get alreadyExists(): boolean {
    return this.statusCode === 409 && this.reason === 'AlreadyExists';
  }

  get conflict(): boolean {
    return this.statusCode === 409 && this.reason !== 'AlreadyExists';
  }
}

/** Maps whatever client-node threw (ApiException, fetch error, …) to a `KubeApiError`. */
export function toKubeApiError(error: unknown): KubeApiError {
  if (error instanceof KubeApiError) return error;
  // An ApiException comes from a client-node API object: client-node is loaded by then.
  const apiException = loadedClientNode()?.ApiException;
  if (apiException && error instanceof apiException) return fromApiException(error);
  const message = error instanceof Error ? error.message : String(error);
  return new KubeApiError(0, 'Unreachable', message);
}

/** The call's result, `undefined` when the object is not found; other errors as `KubeApiError`. */
export async function undefinedIfNotFound<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    const apiError = toKubeApiError(error);
    if (apiError.notFound) return undefined;
    throw apiError;
  }
}

function fromApiException(error: ApiException<unknown>): KubeApiError {
  const status = parseStatus(error.body);
  const headers: Record<string, string> = error.headers ?? {};
  const retryAfter = Number(headers['retry-after'] ?? headers['Retry-After']);
  const reason = typeof status.reason === 'string' ? status.reason : reasonOf(error.code);
  const message =
    typeof status.message === 'string' && status.message !== ''
      ? status.message
      : `HTTP ${error.code}`;
  return new KubeApiError(
    error.code,
    reason,
    message,
    Number.isFinite(retryAfter) ? retryAfter : undefined,
  );
}

function parseStatus(body: unknown): Record<string, unknown> {
  let value: unknown = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body };
    }
  }
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function reasonOf(code: number): string {
  if (code === 404) return 'NotFound';
  if (code === 409) return 'Conflict';
  if (code === 429) return 'TooManyRequests';
  return code >= 500 ? 'InternalError' : 'Unknown';
}

/** One entry of a 422 Invalid `Status`'s `details.causes`: the field and what is wrong with it. */
export interface StatusCause {
  field: string;
  message: string;
}

/** A 422 Invalid answer: the server named each offending field in `causes`. */
export class KubeInvalidError extends KubeApiError {
  constructor(
    message: string,
    readonly causes: StatusCause[],
  ) {
    super(422, 'Invalid', message);
    this.name = 'KubeInvalidError';
  }
}
