import { CliError, EXIT } from './exit-codes.js';

/** How {@link waitForFinal} waits. */
export interface WaitOptions<T> {
  /** The phase of a read value; `Succeeded` and `Failed` are final. */
  phase: (value: T) => string;
  timeoutMs: number;
  /** Sees every read, so callers can print what changed. */
  onRead: (value: T) => void;
  /** What is waited for, for the timeout message. */
  what: string;
}

/**
 * Polls `read` (every 250 ms) until the phase is final, or throws a {@link CliError} with exit
 * code 3 once `timeoutMs` has passed, naming the last phase seen.
 */
export async function waitForFinal<T>(read: () => Promise<T>, options: WaitOptions<T>): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await read();
    options.onRead(value);
    const phase = options.phase(value);
    if (phase === 'Succeeded' || phase === 'Failed') return value;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new CliError(
        `timed out after ${options.timeoutMs / 1000}s waiting for ${options.what} (still ${phase})`,
        EXIT.timedOut,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(250, left)));
  }
}
