import { CliError, EXIT, UnreachableError } from './exit-codes.js';

/** How {@link waitForFinal} waits. */
export interface WaitOptions<T> {
  /** The phase of a read value; `Succeeded` and `Failed` are final. */
  phase: (value: T) => string;
  timeoutMs: number;
  /** Sees every read, so callers can print what changed. */
  onRead: (value: T) => void;
  /** What is waited for, for the timeout message. */
  what: string;
  /** Told once per outage that the server is unreachable and the wait goes on (stderr by default). */
  onOutage?: (message: string) => void;
}

const POLL_MS = 250;
const MAX_BACKOFF_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `read` (every 250 ms) until the phase is final, or throws a {@link CliError} with exit
 * code 3 once `timeoutMs` has passed, naming the last phase seen. An unreachable server (a
 * restart, a network blip) is retried with backoff up to 5 s until the same deadline; if it
 * is still unreachable then, its error ends the wait (exit code 1).
 */
export async function waitForFinal<T>(read: () => Promise<T>, options: WaitOptions<T>): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const outage = options.onOutage ?? ((m: string) => console.error(`snapwarden: ${m}`));
  let backoff = POLL_MS;
  let down = false;
  let phase = 'unknown';
  for (;;) {
    try {
      const value = await read();
      if (down) outage('reconnected');
      down = false;
      backoff = POLL_MS;
      options.onRead(value);
      phase = options.phase(value);
      if (phase === 'Succeeded' || phase === 'Failed') return value;
    } catch (error) {
      if (!(error instanceof UnreachableError)) throw error;
      if (Date.now() >= deadline) throw error;
      if (!down) outage(`${error.message}; retrying until the deadline`);
      down = true;
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new CliError(
        `timed out after ${options.timeoutMs / 1000}s waiting for ${options.what} (still ${phase})`,
        EXIT.timedOut,
      );
    }
    await sleep(Math.min(down ? backoff : POLL_MS, left));
  }
}
