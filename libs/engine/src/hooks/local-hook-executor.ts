import { spawn } from 'node:child_process';
import type { VolumeRef } from '#lib/storage';
import {
  OutputTail,
  type HookExecution,
  type HookExecutor,
  type HookInvocation,
  type HookTargets,
} from './hook-executor.js';

/**
 * Local mode: a hook is a host command (argv, no shell), started in its own process group with
 * `SNAPWARDEN_VOLUME_PATH`, `SNAPWARDEN_VOLUME_NAME` and `SNAPWARDEN_SNAPSHOT_NAME` added to
 * the environment. At its timeout the whole group is killed (SIGKILL), so a shell script's
 * children die with it.
 */
export class LocalHookExecutor implements HookExecutor {
  /** `volumePath` maps a volume to its directory on this host (empty when it has none). */
  constructor(private readonly volumePath: (volume: VolumeRef) => string) {}

  targets(): Promise<HookTargets> {
    return Promise.resolve({ targets: ['host'] });
  }

  run(invocation: HookInvocation, target: string): Promise<HookExecution> {
    const { hook, volume, snapshotName } = invocation;
    const [file = '', ...args] = hook.command;
    const started = Date.now();
    const tail = new OutputTail();
    return new Promise((resolve) => {
      const child = spawn(file, args, {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          // The hook inherits the worker's environment; nothing is read from it here.
          // eslint-disable-next-line no-restricted-syntax
          ...process.env,
          SNAPWARDEN_VOLUME_PATH: this.volumePath(volume),
          SNAPWARDEN_VOLUME_NAME: volume.name,
          SNAPWARDEN_VOLUME_NAMESPACE: volume.namespace,
          SNAPWARDEN_SNAPSHOT_NAME: snapshotName,
        },
      });
      let timedOut = false;
      const finish = (result: Omit<HookExecution, 'target' | 'output' | 'durationMs'>) => {
        clearTimeout(timer);
        resolve({ target, output: tail.text(), durationMs: Date.now() - started, ...result });
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, hook.timeoutSeconds * 1000);
      child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
      child.once('error', (error) =>
        finish({ ok: false, error: `cannot start: ${error.message}` }),
      );
      child.once('close', (code, signal) => {
        if (timedOut) {
          finish({ ok: false, error: `timed out after ${hook.timeoutSeconds}s (killed)` });
        } else if (code === null) {
          finish({ ok: false, error: `killed by ${signal ?? 'a signal'}` });
        } else {
          finish({ ok: code === 0, exitCode: code });
        }
      });
    });
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
