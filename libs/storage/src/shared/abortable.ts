import { TransientDriverError } from '../errors.js';
import { isErrorLike } from './as-error.js';

type Signals = readonly (AbortSignal | undefined)[];

/** The error an aborted operation rejects with: the signal's reason when it is an Error. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (isErrorLike(reason)) return reason;
  const message = typeof reason === 'string' ? reason : 'The operation was aborted';
  return new DOMException(message, 'AbortError');
}

/** The reason `close()` gives to operations still waiting. */
export function closedError(driver: string): Error {
  return new TransientDriverError(`${driver} driver closed while waiting`);
}

/** Throws the reason of the first aborted signal, if any is aborted. */
export function throwIfAnyAborted(signals: Signals): void {
  const aborted = signals.find((s) => s?.aborted);
  if (aborted) throw abortReason(aborted);
}

/**
 * Calls `handler` with the abort reason when any of `signals` aborts; returns the function
 * that unsubscribes. (Not `AbortSignal.any`: it would tie a new signal to the driver's
 * long-lived close signal on every wait.)
 */
export function onAnyAbort(signals: Signals, handler: (reason: Error) => void): () => void {
  const listeners = signals.flatMap((signal) => {
    if (!signal) return [];
    const listener = () => handler(abortReason(signal));
    signal.addEventListener('abort', listener, { once: true });
    return [() => signal.removeEventListener('abort', listener)];
  });
  return () => listeners.forEach((off) => off());
}

/**
 * Resolves after `ms` without blocking the event loop; rejects with the abort reason as soon
 * as any of `signals` aborts, and clears its timer either way.
 */
export function sleep(ms: number, signals: Signals = []): Promise<void> {
  return new Promise((resolve, reject) => {
    throwIfAnyAborted(signals);
    const off = onAnyAbort(signals, (reason) => {
      clearTimeout(timer);
      reject(reason);
    });
    const timer = setTimeout(() => {
      off();
      resolve();
    }, ms);
  });
}
