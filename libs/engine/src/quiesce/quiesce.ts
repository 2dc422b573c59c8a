import type { AuditEventInput } from '#lib/audit';
import type { Quiesce } from '#lib/policy';
import { InvalidRequestError, type VolumeRef } from '#lib/storage';
import type { EngineDeps } from '../engine-deps.js';
import { errorText } from '../format.js';
import type { QuiescedWorkload, WorkloadPort } from './workload-port.js';

/** Who a quiesce works for and how it reports: audit context and a status-field writer. */
export interface QuiesceContext {
  volume: VolumeRef;
  quiesce: Quiesce;
  /** The restore (`namespace/name`): recorded on each workload it scales down. */
  owner: string;
  /** Writes the restore's `quiesce` status field. */
  status(text: string): Promise<void>;
  /** Appends an audit event with the restore's context. */
  audit(event: Pick<AuditEventInput, 'type' | 'outcome' | 'message' | 'error'>): Promise<void>;
}

/** How often the pods are re-read while waiting for them to stop. */
const DRAIN_POLL_MS = 250;

/**
 * Runs a rollback with the claim's I/O stopped. `None`: refused (naming `spec.quiesce`) while a
 * pod mounts the claim. `ScaleDown`: the Deployments/StatefulSets whose pods mount the claim are
 * scaled to zero (their replica count recorded on them first), the rollback runs once no pod
 * mounts the claim, and the recorded counts are restored whatever the rollback's outcome.
 * Workloads this restore quiesced earlier (a retried or crashed attempt) are restored too.
 */
export async function quiescedRollback(
  deps: EngineDeps,
  ctx: QuiesceContext,
  rollback: () => Promise<void>,
): Promise<void> {
  const port = deps.workloads;
  if (!port) {
    if (ctx.quiesce === 'ScaleDown') {
      throw new InvalidRequestError('ScaleDown needs kubernetes mode', 'quiesce');
    }
    return rollback();
  }
  const earlier = await port.quiescedBy(ctx.volume.namespace, ctx.owner);
  const pods = await port.podsMounting(ctx.volume);
  if (ctx.quiesce === 'None' && earlier.length === 0) {
    if (pods.length > 0)
      throw mountedError(
        ctx.volume,
        pods.map((p) => p.name),
      );
    return rollback();
  }
  const bare = pods.filter((p) => p.owner === undefined).map((p) => p.name);
  if (bare.length > 0) {
    throw new InvalidRequestError(
      `claim ${ctx.volume.name} is mounted by ${bare.join(', ')}, which no Deployment or ` +
        'StatefulSet controls: ScaleDown cannot stop it; delete the pod(s) first',
      'quiesce',
    );
  }
  const quiesced = [...earlier];
  let failure: Error | undefined;
  try {
    await scaleDownOwners(port, ctx, pods, quiesced);
    await drain(deps, port, ctx);
    await ctx.status('RollingBack');
    await rollback();
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
  }
  try {
    await restoreAll(port, ctx, quiesced);
  } catch (error) {
    // Replicas still at zero: a retry (or the failure handler) must scale them back.
    if (failure === undefined) throw error;
    throw new Error(`${errorText(error)}; the rollback failed too: ${failure.message}`, {
      cause: error,
    });
  }
  if (failure !== undefined) throw failure;
}

/** Restores what `owner` quiesced and left behind (a restore that failed for good). */
export async function releaseQuiesced(deps: EngineDeps, ctx: QuiesceContext): Promise<void> {
  const port = deps.workloads;
  if (!port) return;
  try {
    const left = await port.quiescedBy(ctx.volume.namespace, ctx.owner);
    if (left.length > 0) await restoreAll(port, ctx, left);
  } catch (error) {
    // The restore still ends Failed; the annotations stay on the workloads for an operator.
    await ctx.audit({
      type: 'quiesce.failed',
      outcome: 'failed',
      message: 'replicas of the quiesced workloads not restored',
      error: errorText(error),
    });
  }
}

function mountedError(volume: VolumeRef, pods: string[]): InvalidRequestError {
  return new InvalidRequestError(
    `claim ${volume.name} is mounted by running pod(s) ${pods.join(', ')}: a rollback needs its ` +
      'I/O stopped; set spec.quiesce: ScaleDown to scale their Deployment/StatefulSet to zero ' +
      'for the rollback, or stop them first',
    'quiesce',
  );
}

async function scaleDownOwners(
  port: WorkloadPort,
  ctx: QuiesceContext,
  pods: { owner?: { kind: QuiescedWorkload['kind']; name: string } }[],
  quiesced: QuiescedWorkload[],
): Promise<void> {
  for (const pod of pods) {
    const owner = pod.owner;
    if (!owner || quiesced.some((w) => w.kind === owner.kind && w.name === owner.name)) continue;
    const replicas = await port.scaleDown(ctx.volume.namespace, owner, ctx.owner);
    quiesced.push({ ...owner, replicas });
    await ctx.audit({
      type: 'quiesce.scaled-down',
      outcome: 'info',
      message: `${owner.kind}/${owner.name} scaled from ${replicas} to 0 (recorded on it)`,
    });
  }
  if (quiesced.length > 0) await ctx.status(`ScaledDown: ${describe(quiesced)}`);
}

async function drain(deps: EngineDeps, port: WorkloadPort, ctx: QuiesceContext): Promise<void> {
  const deadline = deps.clock().getTime() + deps.timings.readyTimeoutMs;
  for (;;) {
    const pods = await port.podsMounting(ctx.volume);
    if (pods.length === 0) break;
    if (deps.clock().getTime() > deadline) {
      throw new Error(
        `pods still mount claim ${ctx.volume.name} after ${deps.timings.readyTimeoutMs / 1000}s: ` +
          pods.map((p) => p.name).join(', '),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
  await ctx.audit({
    type: 'quiesce.drained',
    outcome: 'info',
    message: `no pod mounts claim ${ctx.volume.name}`,
  });
  await ctx.status('Drained');
}

async function restoreAll(
  port: WorkloadPort,
  ctx: QuiesceContext,
  quiesced: QuiescedWorkload[],
): Promise<void> {
  const failures: string[] = [];
  for (const workload of quiesced) {
    try {
      await port.restore(ctx.volume.namespace, workload);
      await ctx.audit({
        type: 'quiesce.restored',
        outcome: 'succeeded',
        message: `${workload.kind}/${workload.name} scaled back to ${workload.replicas}`,
      });
    } catch (error) {
      failures.push(`${workload.kind}/${workload.name}: ${errorText(error)}`);
      await ctx.audit({
        type: 'quiesce.failed',
        outcome: 'failed',
        message: `${workload.kind}/${workload.name} not scaled back to ${workload.replicas}`,
        error: errorText(error),
      });
    }
  }
  if (quiesced.length === 0) {
    await ctx.status('NotNeeded: no pod mounted the claim');
    return;
  }
  if (failures.length > 0) {
    await ctx.status(`RestoreFailed: ${failures.join('; ')}`);
    // The annotations stay: the retried job (or the failure handler) scales them back.
    throw new Error(`replicas not restored: ${failures.join('; ')}`);
  }
  await ctx.status(`Restored: ${describe(quiesced)}`);
}

function describe(workloads: QuiescedWorkload[]): string {
  return workloads.map((w) => `${w.kind}/${w.name}=${w.replicas}`).join(', ');
}
