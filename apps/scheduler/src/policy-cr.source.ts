import type { Logger } from 'pino';
import {
  appliedPolicyStatus,
  invalidPolicyStatus,
  invalidSpecMessage,
  statusDiffers,
  type DesiredPolicies,
  type PolicyObjectRef,
  type PolicySource,
  type PolicyStatus,
  type PolicyStatusPort,
  type ReconcileResult,
  volumeQueryOf,
} from '#lib/engine';
import { Informer, type KubeClient, type KubeObject } from '#lib/kube';
import type { Volume, VolumeQuery } from '#lib/storage';
import { INFORMER_STALE_AFTER_MS, informerProblem } from '#lib/runtime';
import {
  API_VERSION,
  BACKUP_POLICY_KIND,
  parseBackupPolicy,
  type BackupPolicy,
  type FieldError,
  type PolicyParseResult,
  type PolicyContext,
} from '#lib/policy';

/** The BackupPolicy custom resource as the API serves it. */
export interface BackupPolicyObject extends KubeObject {
  spec?: unknown;
  status?: PolicyStatus;
}

/**
 * How long a past `nextRunTime` is left for the run of that tick to replace when it ends, before
 * a reconcile pass writes the one after it.
 */
const NEXT_RUN_GRACE_MS = 5 * 60_000;

/** The BackupPolicy resource: group, version and plural. */
export const BACKUP_POLICIES = {
  group: 'snapwarden.io',
  version: 'v1alpha1',
  plural: 'backuppolicies',
} as const;

/** The per-volume cap of a snapshot class; `undefined` when unknown (no class, none found, no rule). */
export interface ClassCaps {
  capOf(className: string | undefined): Promise<number | undefined>;
}

/** Settings of {@link PolicyCrSource}. */
export interface PolicyCrSourceOptions {
  /** Watch one namespace; `undefined` watches every namespace. */
  namespace?: string;
  context: PolicyContext;
  status: PolicyStatusPort;
  /** Caps of snapshot classes, to check retention against them; unchecked when absent. */
  caps?: ClassCaps;
  logger: Logger;
  /**
   * The volumes of a namespace a selector matches or `names` names (the driver's `findVolumes`),
   * for the `VolumesSelected` condition; omitted when absent.
   */
  volumes?: (query: VolumeQuery) => Promise<Volume[]>;
  /** Coalesces bursts of changes into one reconcile (default 100 ms). */
  debounceMs?: number;
  /** An informer that has not heard from the server for this long is stale (default 5 min). */
  staleAfterMs?: number;
}

/**
 * Kubernetes mode's policy source: a BackupPolicy informer (list once, then watch). Every
 * object is validated with `parseBackupPolicy`; its source is `kubernetes:<ns>/<name>` and its
 * `metadata.uid` the policy uid. After each reconcile it writes each object's status through
 * the status subresource (`observedGeneration`, `Ready`, `Scheduled`, `nextRunTime`), only
 * when that would change something, and a `Warning InvalidSpec` Event for an invalid spec.
 */
export class PolicyCrSource implements PolicySource {
  private readonly informer: Informer<BackupPolicyObject>;
  private started?: Promise<void>;
  private readonly staleAfterMs: number;

  constructor(
    kube: KubeClient,
    private readonly options: PolicyCrSourceOptions,
  ) {
    this.informer = new Informer(kube, kube.customSource(BACKUP_POLICIES, options.namespace));
    this.staleAfterMs = options.staleAfterMs ?? INFORMER_STALE_AFTER_MS;
    this.informer.on('error', (error) =>
      options.logger.warn({ err: error.message }, 'BackupPolicy watch failed; restarting'),
    );
  }

  async load(): Promise<DesiredPolicies> {
    this.started ??= this.informer.start();
    await this.started;
    const desired: DesiredPolicies = { policies: [], problems: [] };
    for (const obj of this.objects()) {
      const source = sourceOf(obj);
      const parsed = await this.parse(obj);
      if (parsed.ok) desired.policies.push({ policy: parsed.policy, source });
      else desired.problems.push({ source, key: keyOf(obj), errors: parsed.errors });
    }
    return desired;
  }

  /** Validates the object, then again against its snapshot class's cap once that is known. */
  private async parse(obj: BackupPolicyObject): Promise<PolicyParseResult> {
    const document = documentOf(obj);
    const parsed = parseBackupPolicy(document, this.options.context);
    if (!parsed.ok || !this.options.caps) return parsed;
    const cap = await this.options.caps.capOf(parsed.policy.spec.snapshotClassName);
    if (cap === undefined) return parsed;
    return parseBackupPolicy(document, {
      ...this.options.context,
      maxSnapshotsPerVolume: () => cap,
    });
  }

  watch(onChange: () => void): void {
    let timer: NodeJS.Timeout | undefined;
    const changed = (obj: BackupPolicyObject, old?: BackupPolicyObject) => {
      // Our own status writes change the object too; only spec and metadata changes matter.
      if (old && !specChanged(obj, old)) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, this.options.debounceMs ?? 100);
    };
    this.informer.on('add', changed).on('update', changed).on('delete', changed);
  }

  async reconciled(desired: DesiredPolicies, _result: ReconcileResult, now: Date): Promise<void> {
    const invalid = new Map(desired.problems.map((p) => [p.source, p.errors] as const));
    const valid = new Map(desired.policies.map((p) => [p.source, p.policy] as const));
    for (const obj of this.objects()) {
      const source = sourceOf(obj);
      const errors = invalid.get(source);
      const policy = valid.get(source);
      if (errors) await this.writeInvalid(obj, errors, now);
      else if (policy) {
        const volumes = await this.volumesOf(policy);
        const status = appliedPolicyStatus(policy, keyOf(obj), now, obj.status, volumes);
        await this.write(obj, status, now);
      }
    }
  }

  /** Without the volumes (the lookup failed), the condition is left as it was. */
  private async volumesOf(policy: BackupPolicy): Promise<Volume[] | undefined> {
    const namespace = policy.metadata.namespace ?? 'default';
    try {
      return await this.options.volumes?.(volumeQueryOf(namespace, policy.spec));
    } catch (error) {
      this.options.logger.warn(
        { namespace, err: error instanceof Error ? error.message : String(error) },
        'cannot look up volumes for the VolumesSelected condition',
      );
      return undefined;
    }
  }

  notReadyReason(): string | undefined {
    return informerProblem('BackupPolicy', this.informer.status(), Date.now(), this.staleAfterMs);
  }

  close(): Promise<void> {
    this.informer.stop();
    return Promise.resolve();
  }

  private objects(): BackupPolicyObject[] {
    return this.informer
      .list()
      .filter((o) => o.metadata.deletionTimestamp === undefined)
      .sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  }

  private async writeInvalid(obj: BackupPolicyObject, errors: FieldError[], now: Date) {
    const wanted = invalidPolicyStatus(errors, obj.metadata.generation, now, obj.status);
    if (!(await this.write(obj, wanted, now))) return;
    await this.options.status
      .recordEvent(refOf(obj), {
        type: 'Warning',
        reason: 'InvalidSpec',
        message: invalidSpecMessage(errors),
      })
      .catch((error: unknown) => this.logFailure(obj, 'create event', error));
  }

  /**
   * Writes `wanted` when it changes the status; true when written. The `nextRunTime` written by
   * the end of each run is kept while it still holds: until the spec changes, or until it is
   * {@link NEXT_RUN_GRACE_MS} in the past (that run never reported its end), so that a pass
   * during a run in flight costs no request.
   */
  private async write(obj: BackupPolicyObject, wanted: PolicyStatus, now: Date): Promise<boolean> {
    const current = obj.status;
    const nextStale =
      !current?.nextRunTime ||
      current.observedGeneration !== wanted.observedGeneration ||
      Date.parse(current.nextRunTime) <= now.getTime() - NEXT_RUN_GRACE_MS;
    const compared = nextStale ? wanted : { ...wanted, nextRunTime: current.nextRunTime };
    if (!statusDiffers(current, compared)) return false;
    try {
      await this.options.status.patchStatus(refOf(obj), compared);
      return true;
    } catch (error) {
      // Don't mask the reconcile: the next pass writes it again.
      this.logFailure(obj, 'patch status', error);
      return false;
    }
  }

  private logFailure(obj: BackupPolicyObject, action: string, error: unknown) {
    this.options.logger.warn(
      { policy: keyOf(obj), action, err: error instanceof Error ? error.message : String(error) },
      `BackupPolicy ${keyOf(obj)}: ${action} failed`,
    );
  }
}

function keyOf(obj: BackupPolicyObject): string {
  return `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
}

function sourceOf(obj: BackupPolicyObject): string {
  return `kubernetes:${keyOf(obj)}`;
}

function refOf(obj: BackupPolicyObject): PolicyObjectRef {
  return {
    namespace: obj.metadata.namespace ?? 'default',
    name: obj.metadata.name,
    uid: obj.metadata.uid ?? '',
  };
}

/** What `parseBackupPolicy` reads: the document without `status` and server-owned metadata. */
function documentOf(obj: BackupPolicyObject): unknown {
  const { name, namespace, uid, generation, labels, annotations } = obj.metadata;
  return {
    apiVersion: obj.apiVersion ?? API_VERSION,
    kind: obj.kind ?? BACKUP_POLICY_KIND,
    metadata: { name, namespace, uid, generation, labels, annotations },
    spec: obj.spec,
  };
}

function specChanged(obj: BackupPolicyObject, old: BackupPolicyObject): boolean {
  return (
    obj.metadata.generation !== old.metadata.generation ||
    obj.metadata.uid !== old.metadata.uid ||
    obj.metadata.deletionTimestamp !== old.metadata.deletionTimestamp ||
    JSON.stringify(obj.metadata.labels) !== JSON.stringify(old.metadata.labels)
  );
}
