import { Writable } from 'node:stream';
import type { V1Status } from '@kubernetes/client-node';
import { clientNode } from './client-node.js';
import type { KubeClient } from './kube-client.js';

/** One command to run in a container through `pods/exec`. */
export interface PodExecInput {
  namespace: string;
  pod: string;
  /** Empty: the pod's only container (the API server refuses when there are several). */
  container?: string;
  command: string[];
  timeoutMs: number;
  /** Receives stdout and stderr chunks as they arrive. */
  onOutput(chunk: Buffer): void;
}

/** How an exec ended: its exit code, or why there is none. */
export type PodExecResult = { exitCode: number } | { error: string; timedOut?: boolean };

interface Socket {
  close(): void;
  onclose: ((event: unknown) => void) | null;
}

/**
 * Runs a command in a container over the `pods/exec` WebSocket (client-node's `Exec`, the
 * v5/v4 channel protocol): stdout and stderr are streamed to `onOutput`, the exit code comes
 * from the status channel. At `timeoutMs` the stream is closed; the API server then ends the
 * session, but a process inside the container that ignores its closed streams may keep running.
 * Rate limited like every other request; never retried (an exec is not idempotent).
 */
export async function execInPod(kube: KubeClient, input: PodExecInput): Promise<PodExecResult> {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      input.onOutput(chunk);
      callback();
    },
  });
  let settle: (result: PodExecResult) => void = () => undefined;
  const done = new Promise<PodExecResult>((resolve) => {
    settle = resolve;
  });
  let opened: unknown;
  try {
    opened = await kube.request(
      () =>
        new (clientNode().Exec)(kube.kc)
          .exec(
            input.namespace,
            input.pod,
            input.container ?? '',
            input.command,
            sink,
            sink,
            null,
            false,
            (status) => settle(resultOf(status)),
          )
          .catch((error: unknown) => {
            // The WebSocket reports a refused upgrade as an event, not an Error.
            throw new Error(describe(error));
          }),
      false,
    );
  } catch (error) {
    return { error: `exec refused: ${describe(error)}` };
  }
  // client-node types the socket through isomorphic-ws; only close() and onclose are used.
  const socket = opened as Socket;
  const timer = setTimeout(() => {
    settle({
      error: `timed out after ${input.timeoutMs / 1000}s (exec stream closed)`,
      timedOut: true,
    });
    socket.close();
  }, input.timeoutMs);
  socket.onclose = () => settle({ error: 'exec stream closed without an exit status' });
  const result = await done;
  clearTimeout(timer);
  return result;
}

/** `Success` ⇒ 0; `NonZeroExitCode` ⇒ the code from `details.causes`; else the message. */
function resultOf(status: V1Status): PodExecResult {
  if (status.status === 'Success') return { exitCode: 0 };
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return { exitCode: code };
  }
  return { error: status.message ?? 'exec failed without a message' };
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String(error.message);
  }
  return String(error);
}
