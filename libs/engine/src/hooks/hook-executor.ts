import type { Hook } from '#lib/policy';
import type { VolumeRef } from '#lib/storage';

/** Which hook list a hook belongs to. */
export type HookPhase = 'pre' | 'post';

/** One hook to run for one volume's snapshot. */
export interface HookInvocation {
  hook: Hook;
  phase: HookPhase;
  volume: VolumeRef;
  snapshotName: string;
}

/** The result of a hook in one place (a pod, or the host). */
export interface HookExecution {
  /** Where it ran: `host`, or `<pod>` (`<pod>/<container>` when a container was named). */
  target: string;
  ok: boolean;
  /** The command's exit code, when it ended on its own. */
  exitCode?: number;
  /** The end of stdout and stderr, interleaved as they arrived (at most {@link OUTPUT_TAIL_BYTES}). */
  output: string;
  durationMs: number;
  /** Why it failed beyond a non-zero exit code: timeout, container missing, command not found. */
  error?: string;
}

/** Bytes of a hook's output kept for audit events and errors. */
export const OUTPUT_TAIL_BYTES = 2048;

/** Where a hook would run: targets, or why there is none. */
export type HookTargets = { targets: string[] } | { none: string };

/**
 * Runs hook commands: on the host (local mode) or in pods through `pods/exec` (kubernetes
 * mode). Implementations enforce `timeoutSeconds` and never throw for a failing command.
 */
export interface HookExecutor {
  /** The places `invocation` runs in (pods mounting the claim, pods selected, or the host). */
  targets(invocation: HookInvocation): Promise<HookTargets>;
  /** Runs the hook in one target; resolves (never rejects) with how it went. */
  run(invocation: HookInvocation, target: string): Promise<HookExecution>;
}

/** Keeps the last {@link OUTPUT_TAIL_BYTES} bytes of a stream of chunks. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer | string): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(buffer);
    this.size += buffer.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= OUTPUT_TAIL_BYTES) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all
      .subarray(Math.max(0, all.length - OUTPUT_TAIL_BYTES))
      .toString('utf8')
      .trimEnd();
  }
}
