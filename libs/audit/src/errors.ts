/** A query parameter (filter, cursor, limit, time range) is invalid; `field` names it for the API's error body. */
export class InvalidQueryError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = new.target.name;
  }
}

/**
 * The audit log could not be written (Redis unreachable, command timed out, reply error).
 * The event may or may not have been stored; `cause` holds the client's error.
 */
export class AuditUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No run with that id exists (never started, or trimmed from the bounded history). */
export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`run ${runId} not found`);
    this.name = new.target.name;
  }
}

/** The run exists but was not started with that volume. */
export class UnknownRunVolumeError extends Error {
  constructor(
    readonly runId: string,
    readonly volume: string,
  ) {
    super(`run ${runId} has no volume ${volume}`);
    this.name = new.target.name;
  }
}
