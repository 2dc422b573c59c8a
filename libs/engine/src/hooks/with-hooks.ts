import type { Hooks } from '#lib/policy';
import type { EngineDeps } from '../engine-deps.js';
import type { Hooked, HookScope } from './hook-runner.js';

/**
 * The one entry point of the snapshot paths: `operation` (creating a snapshot) between the
 * volume's hooks, after any post hooks owed from a killed worker. `creating: false` (adopting a
 * snapshot that exists) runs no new hooks.
 */
export async function withHooks<T>(
  deps: EngineDeps,
  scope: HookScope,
  hooks: Hooks | undefined,
  creating: boolean,
  operation: () => Promise<T>,
): Promise<Hooked<T>> {
  if (deps.hooks) return deps.hooks.around(scope, hooks, creating, operation);
  if (creating && (hooks?.pre?.length ?? 0) + (hooks?.post?.length ?? 0) > 0) {
    return { error: 'spec.hooks: hooks cannot run in this process (no hook executor)' };
  }
  return { value: await operation() };
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
