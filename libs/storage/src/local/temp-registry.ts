import { rm } from 'node:fs/promises';

// Process-wide, not per driver instance: two LocalDriver instances on one data directory in
// one process must not take each other's work in progress for a dead process's leftovers.
const held = new Set<string>();

/** Runs `fn` with the temporary `path` marked as in use by this process. */
export async function holding<T>(path: string, fn: () => Promise<T>): Promise<T> {
  held.add(path);
  try {
    return await fn();
  } finally {
    held.delete(path);
  }
}

/** True while some code of this process works with the temporary `path`. */
export function isHeld(path: string): boolean {
  return held.has(path);
}

/** Like `holding`, and removes `path` (a file or a whole tree) when `fn` fails. */
export async function holdingOrRemove<T>(path: string, fn: () => Promise<T>): Promise<T> {
  return holding(path, async () => {
    try {
      return await fn();
    } catch (error) {
      await rm(path, { recursive: true, force: true });
      throw error;
    }
  });
}
