import type { AuditEventInput, RunRecord, VolumeRunResult } from '#lib/audit';
import {
  LABEL_MANAGED_BY,
  LABEL_ON_DEMAND,
  LABEL_VOLUME,
  MANAGED_BY_VALUE,
  formatScheduledAt,
  isFinalRequestPhase,
  labelValue,
  onDemandSnapshotName,
  parseDuration,
  type ClaimSnapshotStatus,
  type SnapshotRequestSpec,
} from '#lib/policy';
import { requestJobId, type RequestVolumeJob } from '#lib/queues';
import type { Volume } from '#lib/storage';
import type { EngineDeps } from './engine-deps.js';
import { RejectedRequestError } from './request-errors.js';
import type { StoredPolicy } from './policy-store.js';
import type { RequestStore, SnapshotRequestRecord } from './request-store.js';
import { findSelectedVolumes } from './volume-selection.js';
import { notifyRunEnd } from './run-observer.js';

/** Label holding when an on-demand snapshot expires (compact UTC, see `formatScheduledAt`). */
export const LABEL_EXPIRES_AT = 'snapwarden.io/expires-at';

/** A new SnapshotRequest as a caller (API, CLI, custom resource) submits it. */
export interface NewSnapshotRequest {
  namespace: string;
  name: string;
  spec: SnapshotRequestSpec;
  trigger: string;
  /** `metadata.uid` of the SnapshotRequest resource, when it came from one. */
  uid?: string;
}

/** One claim of a request as reported to callers (`status.snapshots[]`). */
export type RequestClaimStatus = ClaimSnapshotStatus;

/** A request with its per-claim results. */
export type SnapshotRequestStatus = SnapshotRequestRecord & {
  runId: string;
  snapshots: RequestClaimStatus[];
};

/**
 * On-demand snapshots (SnapshotRequest): one snapshot of every selected claim, each taken by
 * {@link OnDemandSnapshotService} under the volume's lock and the cap's on-demand budget. The
 * request is `Succeeded` only when every selected claim has a ready snapshot; `Failed` names
 * each failed claim; its timeout fails it, and results that arrive later are still recorded in
 * its run (the phase stays `Failed`). The same service serves the REST API and, later, an
 * informer over SnapshotRequest resources.
 */
export class SnapshotRequestService {
  constructor(
    private readonly deps: EngineDeps,
    private readonly store: RequestStore,
  ) {}

  /**
   * Records a new request as `Pending`; false when the name is taken. Caller enqueues it.
   * Throws {@link RejectedRequestError}, writing nothing, when the expiry its `ttl` gives is
   * not a date or its `policyRef` names no policy.
   */
  async create(input: NewSnapshotRequest): Promise<boolean> {
    const now = this.deps.clock();
    const expiresAt = expiryOf(now, input.spec.ttl);
    const ref = input.spec.policyRef;
    if (ref && !(await this.deps.policies.get(`${input.namespace}/${ref.name}`))) {
      throw new RejectedRequestError(
        'spec.policyRef.name',
        `policy ${input.namespace}/${ref.name} not found`,
      );
    }
    const identity = {
      namespace: input.namespace,
      name: input.name,
      spec: input.spec,
      trigger: input.trigger,
      createdAt: now.toISOString(),
      uid: input.uid,
    };
    return this.store.create('snapshot', identity, { expiresAt });
  }

  /** Takes back a request whose enqueue failed, unless it has started; true when removed. */
  discard(requestKey: string): Promise<boolean> {
    return this.store.discard('snapshot', requestKey);
  }

  /** The request with its per-claim results, or undefined. */
  async status(requestKey: string): Promise<SnapshotRequestStatus | undefined> {
    const record = await this.store.get<SnapshotRequestSpec>('snapshot', requestKey);
    if (!record) return undefined;
    const runId = requestRunId(requestKey);
    const run = await this.deps.runs.get(runId);
    const snapshots = (run?.volumes ?? []).map((v) => ({
      claim: v.volume,
      snapshotName: v.snapshot,
      readyToUse: v.state === 'succeeded',
      state: v.state,
      error: v.error,
    }));
    return { ...record, runId, snapshots };
  }

  /** Selects the claims and returns one job per volume; idempotent for a retried start. */
  async start(requestKey: string): Promise<RequestVolumeJob[]> {
    const record = await this.store.get<SnapshotRequestSpec>('snapshot', requestKey);
    if (!record || isFinalRequestPhase(record.phase)) return [];
    const { spec, namespace } = record;
    const policy = spec.policyRef
      ? await this.deps.policies.get(`${namespace}/${spec.policyRef.name}`)
      : undefined;
    if (spec.policyRef && !policy) {
      return this.failEarly(record, `spec.policyRef: policy ${spec.policyRef.name} not found`);
    }
    const { selected, skipped } = await findSelectedVolumes(this.deps.driver, namespace, spec);
    if (selected.length + skipped.length === 0) {
      return this.failEarly(record, 'no claim matches spec.selector');
    }
    const runId = requestRunId(requestKey);
    // `request.started` is written with the run, in one step: a start retried after its worker
    // died finds the run and its event both there, or neither.
    const started = this.startEvent(record, runId, selected.length, skipped.length);
    await this.deps.runs.start(
      {
        id: runId,
        kind: 'on-demand',
        namespace,
        trigger: record.trigger,
        scheduledAt: new Date(record.createdAt),
        volumes: [...selected.map((v) => v.name), ...skipped.map((s) => s.name)],
        message: spec.reason,
      },
      undefined,
      { announce: () => this.deps.audit.batch([started]) },
    );
    // From Pending only: a retried start keeps the first one's time.
    const running = { phase: 'Running' as const, startedAt: this.deps.clock().toISOString() };
    await this.store.update('snapshot', requestKey, running, undefined, 'Pending');
    for (const s of skipped) {
      await this.recordClaim(requestKey, { volume: s.name, state: 'failed', error: s.reason });
    }
    return this.volumeJobs(record, runId, selected, policy);
  }

  private startEvent(
    record: SnapshotRequestRecord,
    runId: string,
    selected: number,
    skipped: number,
  ): AuditEventInput {
    return this.event(record, {
      type: 'request.started',
      outcome: 'started',
      reason: record.spec.reason,
      runId,
      message: `${selected} claim(s) selected${skipped ? `, ${skipped} unusable` : ''}`,
    });
  }

  private volumeJobs(
    record: SnapshotRequestRecord,
    runId: string,
    selected: Volume[],
    policy: StoredPolicy | undefined,
  ): RequestVolumeJob[] {
    const requestKey = key(record);
    const snapshotClassName = policy?.policy.spec.snapshotClassName;
    const extraLabels = policy?.policy.spec.snapshotLabels ?? {};
    return selected.map((volume) => ({
      id: requestJobId('reqvol', requestKey, volume.uid),
      data: {
        requestKey,
        runId,
        volume: { namespace: volume.namespace, name: volume.name, uid: volume.uid },
        snapshotName: onDemandSnapshotName(record.name, volume.name),
        labels: { ...extraLabels, ...labelsFor(record, volume) },
        snapshotClassName,
        trigger: record.trigger,
        hooks: record.spec.hooks ?? policy?.policy.spec.hooks,
      },
    }));
  }

  /**
   * Lands one claim's result in the request's run; the call that finishes the run settles the
   * request (`Succeeded` when every claim succeeded, else `Failed` naming each failed claim).
   */
  async recordClaim(requestKey: string, result: VolumeRunResult): Promise<void> {
    const runId = requestRunId(requestKey);
    const { record: run, outcome } = await this.deps.runs.applyVolumeResult(runId, {
      finishedAt: this.deps.clock().toISOString(),
      ...result,
    });
    if (outcome === 'finished' && run) {
      await this.settle(requestKey, run);
      await notifyRunEnd(this.deps.runObserver, run, undefined);
    } else if (outcome === 'unchanged') {
      await this.settleIfClosed(requestKey);
    }
  }

  /**
   * Settles the request by its run's results once the run is closed: for a claim reported again
   * or found done by its redelivered job, whose worker closed the run and died before settling
   * the request. Changes nothing for a settled request (its phase is final).
   */
  async settleIfClosed(requestKey: string): Promise<void> {
    const run = await this.deps.runs.get(requestRunId(requestKey));
    if (run && run.state !== 'running') await this.settle(requestKey, run);
  }

  /** The request's deadline: fails it, naming the claims not ready yet, unless it finished. */
  async timeout(requestKey: string): Promise<void> {
    const record = await this.store.get<SnapshotRequestSpec>('snapshot', requestKey);
    if (!record || isFinalRequestPhase(record.phase)) return;
    const run = await this.deps.runs.get(requestRunId(requestKey));
    // Every claim reported, but the request was not settled (its worker died in between).
    if (run && run.state !== 'running') return this.settle(requestKey, run);
    const waiting = (run?.volumes ?? []).filter(
      (v) => v.state === 'pending' || v.state === 'running',
    );
    const failed = (run?.volumes ?? []).filter((v) => v.state === 'failed');
    const names = waiting.map((v) => v.volume).join(', ') || 'none started';
    const message =
      `timed out after ${record.spec.timeoutSeconds}s; not ready: ${names}` +
      (failed.length ? `; failed: ${describeFailures(failed)}` : '');
    await this.finish(record, 'Failed', message, true);
  }

  private async settle(requestKey: string, run: RunRecord): Promise<void> {
    const record = await this.store.get<SnapshotRequestSpec>('snapshot', requestKey);
    if (!record) return;
    const failed = run.volumes.filter((v) => v.state !== 'succeeded');
    if (failed.length === 0) {
      await this.finish(record, 'Succeeded', `${run.volumes.length} snapshot(s) ready`, false);
    } else {
      await this.finish(record, 'Failed', `failed: ${describeFailures(failed)}`, false);
    }
  }

  private async finish(
    record: SnapshotRequestRecord,
    phase: 'Succeeded' | 'Failed',
    message: string,
    timedOut: boolean,
  ): Promise<void> {
    const finishedAt = this.deps.clock();
    // The request's end and its event in one step (see `RequestStore.update`).
    const ended = this.deps.audit.batch([
      this.event(record, {
        type: phase === 'Succeeded' ? 'request.succeeded' : 'request.failed',
        outcome: phase === 'Succeeded' ? 'succeeded' : 'failed',
        runId: requestRunId(key(record)),
        message,
        error: phase === 'Failed' ? message : undefined,
        reason: timedOut ? 'timeout' : record.spec.reason,
        durationMs: finishedAt.getTime() - Date.parse(record.createdAt),
      }),
    ]);
    const patch = {
      phase,
      message,
      finishedAt: finishedAt.toISOString(),
      timedOut: timedOut || undefined,
    };
    await this.store.update('snapshot', key(record), patch, ended);
  }

  private async failEarly(record: SnapshotRequestRecord, message: string): Promise<[]> {
    await this.finish(record, 'Failed', message, false);
    return [];
  }

  /** An event of the request, with who asked and which worker reports it. */
  private event(
    record: SnapshotRequestRecord,
    event: Omit<AuditEventInput, 'trigger' | 'namespace'>,
  ): AuditEventInput {
    return {
      trigger: record.trigger,
      namespace: record.namespace,
      ...event,
      attributes: { request: record.name, worker: this.deps.identity },
    };
  }
}

/** The run (job history entry) of a request: `req_<namespace>.<name>`. */
export function requestRunId(requestKey: string): string {
  return requestJobId('req', requestKey);
}

function key(record: { namespace: string; name: string }): string {
  return `${record.namespace}/${record.name}`;
}

/** When snapshots taken now with `ttl` expire (ISO), undefined for `0` (never). */
function expiryOf(now: Date, ttl: string): string | undefined {
  const ttlMs = parseDuration(ttl);
  if (ttlMs === 0) return undefined;
  const expires = new Date(now.getTime() + ttlMs);
  if (Number.isNaN(expires.getTime())) {
    throw new RejectedRequestError('spec.ttl', `expiry ${ttl} from now is past the last date`);
  }
  return expires.toISOString();
}

function describeFailures(volumes: VolumeRunResult[]): string {
  return volumes.map((v) => `${v.volume} (${v.error ?? v.reason ?? v.state})`).join('; ');
}

function labelsFor(record: SnapshotRequestRecord, volume: Volume): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
    [LABEL_ON_DEMAND]: labelValue(record.name),
    [LABEL_VOLUME]: labelValue(volume.name),
  };
  if (record.expiresAt) labels[LABEL_EXPIRES_AT] = formatScheduledAt(new Date(record.expiresAt));
  return labels;
}
