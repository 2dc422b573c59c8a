import type { AuditAttributes, AuditEventInput, AuditLog } from '#lib/audit';
import type { Hook, Hooks } from '#lib/policy';
import type { VolumeRef } from '#lib/storage';
import type { HookExecution, HookExecutor, HookInvocation, HookPhase } from './hook-executor.js';
import type { LockedRead } from '../volume-lock.js';
import type { PendingHooks, PendingPost } from './pending-hooks.js';

/** Which snapshot of which volume the hooks surround, and the audit context they report in. */
export interface HookScope {
  volume: VolumeRef;
  snapshotName: string;
  trigger: string;
  policy?: string;
  runId?: string;
  jobId: string;
  /** Extra attributes of every hook event (e.g. the request). */
  attributes?: AuditAttributes;
}

/** What {@link HookRunner.around} did: the operation's value when it ran, the hooks' error. */
export interface Hooked<T> {
  /** Set when the operation ran (no pre hook failed with `Fail`). */
  value?: T;
  /** A hook with `onError: Fail` failed: the volume fails with this text. */
  error?: string;
}

/** Characters of a hook's output quoted in the volume's error. */
const ERROR_TAIL_CHARS = 500;

/**
 * Runs a volume's pre hooks, the snapshot, then its post hooks (whenever the pre hooks ran,
 * also when a pre hook or the snapshot failed), emitting `hook.started|succeeded|failed|skipped`
 * for each hook and target. Called with the volume's lock held. Before anything else it runs
 * the post hooks a killed worker left owed to the volume (see {@link PendingHooks}).
 */
export class HookRunner {
  constructor(
    private readonly executor: HookExecutor,
    private readonly pending: PendingHooks,
    private readonly audit: AuditLog,
    private readonly identity: string,
  ) {}

  /**
   * Runs `operation` between the hooks of `hooks`. `withHooks: false` (a snapshot that already
   * exists is being adopted) runs only the owed post hooks and the operation. `recovered`: the
   * caller already ran {@link recover} under the same lock hold.
   */
  async around<T>(
    scope: HookScope,
    hooks: Hooks | undefined,
    withHooks: boolean,
    operation: () => Promise<T>,
    recovered = false,
  ): Promise<Hooked<T>> {
    if (!recovered) await this.recover(scope.volume, scope.jobId);
    const pre = withHooks ? (hooks?.pre ?? []) : [];
    const post = withHooks ? (hooks?.post ?? []) : [];
    if (pre.length + post.length === 0) return { value: await operation() };
    await this.pending.set(scope.volume, {
      snapshotName: scope.snapshotName,
      post,
      trigger: scope.trigger,
      policy: scope.policy,
      runId: scope.runId,
      at: new Date().toISOString(),
    });
    let preError: string | undefined;
    let value: T | undefined;
    let postError: string | undefined;
    try {
      preError = await this.runList(scope, 'pre', pre);
      if (preError === undefined) value = await operation();
    } finally {
      postError = await this.runList(scope, 'post', post);
      await this.pending.clear(scope.volume);
    }
    return { value, error: preError ?? postError };
  }

  /** The post hooks a killed worker owed to `volume`, if any, without running them. */
  owed(volume: VolumeRef): Promise<PendingPost | undefined> {
    return this.pending.get(volume);
  }

  /** {@link owed}, made by the script that takes the volume's lock. */
  owedRead(volume: VolumeRef): LockedRead<PendingPost | undefined> {
    return this.pending.lockedRead(volume);
  }

  /**
   * Runs the post hooks a killed worker owed to `volume`, if any; `read` is {@link owed} when
   * the caller already asked (with the volume's lock held).
   */
  async recover(
    volume: VolumeRef,
    jobId: string,
    read: Promise<PendingPost | undefined> = this.owed(volume),
  ): Promise<void> {
    const owed = await read;
    if (!owed) return;
    await this.runList(recoveredScope(volume, owed, jobId), 'post', owed.post);
    await this.pending.clear(volume);
  }

  /**
   * Runs `hooks` in order; returns the error of the first that failed with `onError: Fail`. A
   * failing pre hook stops the list; post hooks all run (each may thaw something).
   */
  private async runList(
    scope: HookScope,
    phase: HookPhase,
    hooks: readonly Hook[],
  ): Promise<string | undefined> {
    let firstError: string | undefined;
    for (const hook of hooks) {
      const error = await this.runHook(scope, { hook, phase, ...scope });
      if (error !== undefined && hook.onError === 'Fail') {
        firstError ??= error;
        if (phase === 'pre') break;
      }
    }
    return firstError;
  }

  private async runHook(scope: HookScope, invocation: HookInvocation): Promise<string | undefined> {
    const { hook, phase } = invocation;
    const targets = await this.executor.targets(invocation);
    if ('none' in targets) {
      await this.emit(scope, invocation, {
        type: 'hook.skipped',
        outcome: 'skipped',
        reason: targets.none,
      });
      return undefined;
    }
    let error: string | undefined;
    for (const target of targets.targets) {
      await this.emit(scope, invocation, {
        type: 'hook.started',
        outcome: 'started',
        attributes: { target },
      });
      const result = await this.executor.run(invocation, target);
      await this.emitResult(scope, invocation, result);
      if (!result.ok) error ??= describeFailure(phase, hook.name, result);
    }
    return error;
  }

  private async emitResult(scope: HookScope, invocation: HookInvocation, result: HookExecution) {
    const attributes: AuditAttributes = { target: result.target, output: result.output };
    if (result.exitCode !== undefined) attributes.exitCode = result.exitCode;
    const { phase, hook } = invocation;
    await this.emit(scope, invocation, {
      type: result.ok ? 'hook.succeeded' : 'hook.failed',
      outcome: result.ok ? 'succeeded' : 'failed',
      durationMs: result.durationMs,
      error: result.ok ? undefined : describeFailure(phase, hook.name, result),
      attributes,
    });
  }

  private async emit(
    scope: HookScope,
    invocation: HookInvocation,
    event: Pick<AuditEventInput, 'durationMs' | 'error' | 'reason'> & {
      type: 'hook.started' | 'hook.succeeded' | 'hook.failed' | 'hook.skipped';
      outcome: AuditEventInput['outcome'];
      attributes?: AuditAttributes;
    },
  ): Promise<void> {
    await this.audit.append({
      trigger: scope.trigger,
      policy: scope.policy,
      namespace: scope.volume.namespace,
      volume: scope.volume.name,
      snapshot: scope.snapshotName,
      runId: scope.runId,
      jobId: scope.jobId,
      message: `${invocation.phase} hook ${invocation.hook.name}`,
      ...event,
      attributes: {
        ...scope.attributes,
        hook: invocation.hook.name,
        phase: invocation.phase,
        onError: invocation.hook.onError,
        ...event.attributes,
        worker: this.identity,
      },
    });
  }
}

/** `pre hook "freeze" failed in db-0: exit code 3: <output tail>`. */
function describeFailure(phase: HookPhase, name: string, result: HookExecution): string {
  const why =
    result.error ?? (result.exitCode !== undefined ? `exit code ${result.exitCode}` : 'failed');
  const tail = result.output.slice(-ERROR_TAIL_CHARS);
  return `${phase} hook "${name}" failed in ${result.target}: ${why}${tail ? `: ${tail}` : ''}`;
}

function recoveredScope(volume: VolumeRef, owed: PendingPost, jobId: string): HookScope {
  return {
    volume,
    snapshotName: owed.snapshotName,
    trigger: owed.trigger,
    policy: owed.policy,
    runId: owed.runId,
    jobId,
    attributes: { recovered: true, owedSince: owed.at },
  };
}
