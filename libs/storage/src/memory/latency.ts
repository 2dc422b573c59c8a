/**
 * Waits `ms` milliseconds; 0 still yields to the event loop once (setImmediate), so concurrent
 * callers interleave as they would against a real provider, at almost no cost.
 */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (ms > 0) setTimeout(resolve, ms);
    else setImmediate(resolve);
  });
}
