import {
  KEEP_VALUE,
  LABEL_KEEP,
  LABEL_MANAGED_BY,
  LABEL_ON_DEMAND,
  LABEL_POLICY,
  MANAGED_BY_VALUE,
  parseScheduledAt,
} from '#lib/policy';
import type { Snapshot } from '#lib/storage';
import type { EngineDeps } from './engine-deps.js';
import { errorText } from './format.js';
import { deleteReported, reportOwedDeletions } from './deletion-intents.js';
import { LABEL_EXPIRES_AT } from './snapshot-request.service.js';
import type { StoredPolicy } from './policy-store.js';
import { INTERRUPTED_DELETION } from './snapshot.service.js';
import { type CleanupOutcome, type CleanupTarget, runCleanup } from './operation-runs.js';

/**
 * How long a snapshot whose creation failed stays for inspection before cleanup deletes it, by
 * default (`SNAPWARDEN_FAILED_SNAPSHOT_GRACE` sets it for the app).
 */
export const FAILED_SNAPSHOT_GRACE_MS = 3_600_000;

/** What one cleanup pass deleted, and what it could not. */
export interface CleanupResult {
  deleted: { namespace: string; name: string; reason: string }[];
  failed: { namespace: string; name: string; error: string; policy?: string }[];
  /** Left for the next pass: another operation held the volume's lock. */
  deferred: { namespace: string; name: string; policy?: string }[];
}

/**
 * One cleanup pass over every snapshot snapwarden manages: expired on-demand snapshots (their
 * `ttl`), snapshots whose creation failed (after `failedGraceMs`), and the
 * snapshots of removed policies whose `deletionPolicy` is `Delete`. Never deletes a snapshot
 * labelled `snapwarden.io/keep: "true"`, one a restore is reading, or one it does not manage.
 * Snapshots of volumes that no longer exist are kept: on the local driver they are the only
 * copy of the data; on clouds that delete a disk's snapshots with it they are already gone.
 * Every deletion is a `snapshot.deleted` event with its reason (`cleanup: ttl expired`, …).
 */
export class CleanupService {
  constructor(
    private readonly deps: EngineDeps,
    private readonly failedGraceMs = FAILED_SNAPSHOT_GRACE_MS,
  ) {}

  async sweep(trigger: string): Promise<CleanupResult> {
    const result: CleanupResult = { deleted: [], failed: [], deferred: [] };
    const now = this.deps.clock();
    const removed = await this.deps.policies.removed();
    const all = (await this.deps.driver.listAllSnapshots()).filter(isManaged);
    const inUse = new Map<string, ReadonlySet<string>>();
    const due: CleanupTarget[] = [];
    for (const snapshot of all) {
      if (await this.isInterruptedDeletion(snapshot)) {
        // Half deleted (its archive may be gone): finished whatever its labels say.
        due.push({ snapshot, reason: `cleanup: ${INTERRUPTED_DELETION}` });
        continue;
      }
      const reason = this.reasonToDelete(snapshot, now, removed);
      if (!reason || snapshot.labels[LABEL_KEEP] === KEEP_VALUE) continue;
      if (await this.isInUse(snapshot, inUse)) continue;
      due.push({ snapshot, reason });
    }
    await runCleanup(this.deps, due, trigger, now, (t, runId) =>
      this.deleteLocked(t, trigger, result, runId),
    );
    // A removed policy whose snapshot could not be deleted is tried again by the next pass.
    const retry = new Set([...result.failed, ...result.deferred].map((f) => f.policy));
    for (const policy of removed) {
      if (!retry.has(policy.key)) await this.deps.policies.forgetRemoved(policy.key);
    }
    return result;
  }

  private reasonToDelete(s: Snapshot, now: Date, removed: StoredPolicy[]): string | undefined {
    const expires = s.labels[LABEL_EXPIRES_AT];
    const expiresAt = expires ? parseScheduledAt(expires) : undefined;
    if (s.labels[LABEL_ON_DEMAND] !== undefined && expiresAt && expiresAt <= now) {
      return 'cleanup: ttl expired';
    }
    if (s.state === 'Failed' && now.getTime() - s.createdAt.getTime() >= this.failedGraceMs) {
      return 'cleanup: creation failed';
    }
    const policy = s.labels[LABEL_POLICY];
    const gone = removed.find(
      (p) =>
        p.policy.metadata.name === policy &&
        (p.policy.metadata.namespace ?? 'default') === s.namespace,
    );
    if (gone?.policy.spec.deletionPolicy === 'Delete' && s.labels[LABEL_ON_DEMAND] === undefined) {
      return `cleanup: policy ${gone.key} deleted with deletionPolicy Delete`;
    }
    return undefined;
  }

  /** Terminating on a driver that deletes inline: its deleter died (see `deletesInline`). */
  private async isInterruptedDeletion(s: Snapshot): Promise<boolean> {
    if (s.state !== 'Terminating') return false;
    const volume = { namespace: s.namespace, name: s.volumeName };
    return (
      (await this.deps.driver.capabilities(volume, s.snapshotClassName)).deletesInline === true
    );
  }

  private async isInUse(s: Snapshot, cache: Map<string, ReadonlySet<string>>): Promise<boolean> {
    if (!this.deps.protection) return false;
    let names = cache.get(s.namespace);
    if (!names) {
      names = await this.deps.protection.protectedSnapshots({
        namespace: s.namespace,
        name: s.volumeName,
      });
      cache.set(s.namespace, names);
    }
    return names.has(s.name);
  }

  /**
   * Deletes under the volume's lock, like every other operation on it (invariant 4); a volume
   * busy with another operation keeps its snapshot until the next pass.
   */
  private async deleteLocked(
    target: CleanupTarget,
    trigger: string,
    result: CleanupResult,
    runId: string,
  ): Promise<CleanupOutcome> {
    const s = target.snapshot;
    const held = await this.deps.locks.withLock(
      `${s.namespace}/${s.volumeName}`,
      `cleanup:${trigger}:${this.deps.identity}`,
      this.deps.timings.lockTtlMs,
      () => this.delete(s, target.reason, trigger, result, runId),
    );
    if (held) return held.value === undefined ? { deleted: true } : { error: held.value };
    const policy = s.labels[LABEL_POLICY] ? `${s.namespace}/${s.labels[LABEL_POLICY]}` : undefined;
    result.deferred.push({ namespace: s.namespace, name: s.name, policy });
    return { deferred: true };
  }

  /** Deletes one snapshot; returns the error text when it could not. */
  private async delete(
    s: Snapshot,
    reason: string,
    trigger: string,
    result: CleanupResult,
    runId: string,
  ): Promise<string | undefined> {
    const base = {
      runId,
      trigger: `cleanup:${trigger}`,
      namespace: s.namespace,
      volume: s.volumeName,
      snapshot: s.name,
      policy: s.labels[LABEL_POLICY] ? `${s.namespace}/${s.labels[LABEL_POLICY]}` : undefined,
      reason,
      attributes: { worker: this.deps.identity },
    };
    const volume = { namespace: s.namespace, name: s.volumeName };
    try {
      // Deletions a killed worker left unreported on this volume are reported first.
      await reportOwedDeletions(this.deps, volume, undefined);
      await deleteReported(
        this.deps,
        volume,
        { ...base, type: 'snapshot.deleted', outcome: 'succeeded' },
        (error) => ({
          ...base,
          type: 'snapshot.delete-failed',
          outcome: 'failed',
          error: errorText(error),
        }),
      );
    } catch (error) {
      const text = errorText(error);
      result.failed.push({
        namespace: s.namespace,
        name: s.name,
        error: text,
        policy: base.policy,
      });
      return text;
    }
    result.deleted.push({ namespace: s.namespace, name: s.name, reason });
    return undefined;
  }
}

function isManaged(s: Snapshot): boolean {
  return s.labels[LABEL_MANAGED_BY] === MANAGED_BY_VALUE;
}
