/** Exit codes of `snapwarden`, as PRODUCT.md promises them to hook Jobs and scripts. */
export const EXIT = {
  ok: 0,
  /** The operation failed (the message names the claims or the rule). */
  failed: 1,
  /** Bad usage or input: unknown flags, a bad value, a request the API refused as invalid. */
  usage: 2,
  /** The operation did not finish within `--timeout`. */
  timedOut: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error that ends the CLI with `code` after printing `message` on stderr. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * The server could not be reached or answered that it is not serving (connection refused or
 * reset, 502/503/504): a restart or a network blip. A wait retries it until its deadline.
 */
export class UnreachableError extends CliError {
  constructor(message: string) {
    super(message, EXIT.failed);
    this.name = 'UnreachableError';
  }
}
