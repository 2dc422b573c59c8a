import { CliError, EXIT } from './exit-codes.js';

/** Something that ends in `Succeeded` or `Failed`. */
export interface Phased {
  phase: string;
}

/**
 * Polls `read` until the phase is final or `timeoutMs` has passed (then exit code 3); `onChange`
 * sees every read, so callers can print what changed.
 */
export async function waitForFinal<T extends Phased>(
  read: () => Promise<T>,
  timeoutMs: number,
  onChange: (value: T) => void,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    onChange(value);
    if (value.phase === 'Succeeded' || value.phase === 'Failed') return value;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new CliError(`timed out after ${timeoutMs / 1000}s waiting for ${what}`, EXIT.timedOut);
    }
    await new Promise((r) => setTimeout(r, Math.min(250, left)));
  }
}
