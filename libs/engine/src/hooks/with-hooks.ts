import type { Hooks } from '#lib/policy';
import type { EngineDeps } from '../engine-deps.js';
import type { Hooked, HookScope } from './hook-runner.js';
import type { PendingPost } from './pending-hooks.js';

/**
 * The one entry point of the snapshot paths: `operation` (creating a snapshot) between the
 * volume's hooks, after any post hooks owed from a killed worker (unless `recovered`: the
 * caller ran {@link recoverOwedHooks} under the same lock hold). `creating: false` (adopting a
 * snapshot that exists) runs no new hooks.
 */
export async function withHooks<T>(
  deps: EngineDeps,
  scope: HookScope,
  hooks: Hooks | undefined,
  mode: { creating: boolean; recovered?: boolean },
  operation: () => Promise<T>,
): Promise<Hooked<T>> {
  const { creating, recovered = false } = mode;
  if (deps.hooks) return deps.hooks.around(scope, hooks, creating, operation, recovered);
  if (creating && (hooks?.pre?.length ?? 0) + (hooks?.post?.length ?? 0) > 0) {
    return { error: 'spec.hooks: hooks cannot run in this process (no hook executor)' };
  }
  return { value: await operation() };
}

/**
 * Runs the post hooks a killed worker owed to `volume`, if any (called with its lock held);
 * `read` is what `HookRunner.owed` answered, when the caller asked already.
 */
export async function recoverOwedHooks(
  deps: EngineDeps,
  volume: { namespace: string; name: string },
  jobId: string,
  read?: Promise<PendingPost | undefined>,
): Promise<void> {
  await deps.hooks?.recover(volume, jobId, read);
}

/** The hook scope fields every snapshot job payload carries. */
export function hookScopeOf(data: {
  volume: { namespace: string; name: string };
  snapshotName: string;
  trigger: string;
  runId: string;
}): Pick<HookScope, 'volume' | 'snapshotName' | 'trigger' | 'runId'> {
  const { namespace, name } = data.volume;
  return {
    volume: { namespace, name },
    snapshotName: data.snapshotName,
    trigger: data.trigger,
    runId: data.runId,
  };
}
