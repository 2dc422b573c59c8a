import { randomBytes } from 'node:crypto';
import {
  KubeClient,
  KubeInvalidError,
  toKubeApiError,
  type CustomResource,
  type KubeApiError,
  type KubeConfig,
  type KubeObject,
} from '#lib/kube';
import {
  API_GROUP,
  API_GROUP_VERSION,
  API_VERSION,
  REQUEST_REASON,
  RESTORE_REQUEST_KIND,
  SNAPSHOT_REQUEST_KIND,
  type RestoreRequestCrStatus,
  type SnapshotRequestCrStatus,
} from '#lib/policy';
import type { Observed, RequestBackend, RequestStatus, RestoreStatus } from './backend.js';
import { CliError, EXIT } from './exit-codes.js';

/** The label every object the CLI creates carries. */
export const CREATED_BY_LABEL = { 'app.kubernetes.io/created-by': 'snapwarden-cli' } as const;

/** A snapwarden request resource as the CLI writes and reads it. */
interface RequestObject<Status> extends KubeObject {
  spec: unknown;
  status?: Partial<Status>;
}

/** One request kind in kube mode: its resource, generated-name prefix and status mapping. */
export interface KubeRequestKind<S> {
  kind: string;
  resource: CustomResource;
  /** Generated names are `<prefix>-<8 hex>`, as the API generates them. */
  namePrefix: string;
  toStatus(obj: RequestObject<unknown>): S;
}

/** SnapshotRequest: `status.snapshots`, and `DeadlineExceeded` on `Ready` as a timeout. */
export const SNAPSHOT_REQUESTS: KubeRequestKind<RequestStatus> = {
  kind: SNAPSHOT_REQUEST_KIND,
  resource: { group: API_GROUP, version: API_GROUP_VERSION, plural: 'snapshotrequests' },
  namePrefix: 'snapreq',
  toStatus(obj) {
    const status = (obj.status ?? {}) as Partial<SnapshotRequestCrStatus>;
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    return {
      ...identity(obj),
      phase: status.phase ?? 'Pending',
      message: status.message,
      timedOut: ready?.reason === REQUEST_REASON.deadlineExceeded,
      snapshots: status.snapshots ?? [],
    };
  },
};

/** RestoreRequest: `status.claimName`, and `status.field` naming the broken rule. */
export const RESTORE_REQUESTS: KubeRequestKind<RestoreStatus> = {
  kind: RESTORE_REQUEST_KIND,
  resource: { group: API_GROUP, version: API_GROUP_VERSION, plural: 'restorerequests' },
  namePrefix: 'restore',
  toStatus(obj) {
    const status = (obj.status ?? {}) as Partial<RestoreRequestCrStatus>;
    return {
      ...identity(obj),
      phase: status.phase ?? 'Pending',
      message: status.message,
      field: status.field,
      claimName: status.claimName,
    };
  },
};

/**
 * Kube mode: creates `snapwarden.io/v1alpha1` request objects with the CLI's label and reads
 * them back; snapwarden's scheduler fills in their status. `--output json` prints the object's
 * status with its namespace and name.
 */
export class KubeBackend<Spec, S> implements RequestBackend<Spec, S> {
  private readonly client: KubeClient;
  private readonly server: string;

  constructor(
    kc: KubeConfig,
    private readonly type: KubeRequestKind<S>,
  ) {
    this.client = new KubeClient(kc);
    this.server = kc.getCurrentCluster()?.server ?? 'the cluster';
  }

  async create(namespace: string, name: string | undefined, spec: Spec): Promise<Observed<S>> {
    const body: RequestObject<unknown> = {
      apiVersion: API_VERSION,
      kind: this.type.kind,
      metadata: {
        namespace,
        name: name ?? `${this.type.namePrefix}-${randomBytes(4).toString('hex')}`,
        labels: { ...CREATED_BY_LABEL },
      },
      spec,
    };
    try {
      return this.observe(await this.client.createCustom(this.type.resource, body));
    } catch (error) {
      throw this.createError(toKubeApiError(error), namespace, body.metadata.name);
    }
  }

  async get(namespace: string, name: string): Promise<Observed<S>> {
    const what = `${this.type.kind} ${namespace}/${name}`;
    const { group, version, plural } = this.type.resource;
    let obj: RequestObject<unknown> | undefined;
    try {
      obj = await this.client.getCustom<RequestObject<unknown>>(
        group,
        version,
        plural,
        namespace,
        name,
      );
    } catch (error) {
      const apiError = toKubeApiError(error);
      throw new CliError(
        `cannot read ${what} from ${this.server}: ${describe(apiError)}`,
        exitFor(apiError),
      );
    }
    if (obj === undefined) throw new CliError(`${what} was deleted`, EXIT.failed);
    return this.observe(obj);
  }

  private observe(obj: RequestObject<unknown>): Observed<S> {
    return { status: this.type.toStatus(obj), json: { ...identity(obj), ...(obj.status ?? {}) } };
  }

  private createError(error: KubeApiError, namespace: string, name: string): CliError {
    const what = `${this.type.kind} ${namespace}/${name}`;
    const causes = error instanceof KubeInvalidError ? error.causes : [];
    if (causes.length > 0) {
      const fields = causes.map((c) => `${c.field}: ${c.message}`).join('; ');
      return new CliError(`${this.server} refused ${what}: ${fields}`, EXIT.usage);
    }
    if (error.alreadyExists) {
      return new CliError(
        `metadata.name: ${what} already exists (request names are single-use; give another --name)`,
        EXIT.usage,
      );
    }
    if (exitFor(error) === EXIT.failed) {
      // A 5xx may come after the write; an unreachable server or a 429 wrote nothing.
      const maybe =
        error.statusCode >= 500
          ? ` (it may have been created: kubectl get ${this.type.resource.plural} -n ${namespace} ${name})`
          : '';
      return new CliError(
        `cannot create ${what} on ${this.server}: ${describe(error)}${maybe}`,
        EXIT.failed,
      );
    }
    const hint =
      error.notFound && !/namespaces? "/.test(error.message)
        ? " (are snapwarden's CRDs installed? kubectl apply -f deploy/crds)"
        : '';
    return new CliError(`${this.server} refused ${what}: ${describe(error)}${hint}`, EXIT.usage);
  }
}

function identity(obj: KubeObject): { namespace: string; name: string } {
  return { namespace: obj.metadata.namespace ?? '', name: obj.metadata.name };
}

/** The caller must change something (input, credentials, namespace): 2; else 1. */
function exitFor(error: KubeApiError): typeof EXIT.usage | typeof EXIT.failed {
  return error.statusCode >= 400 && error.statusCode < 500 && error.statusCode !== 429
    ? EXIT.usage
    : EXIT.failed;
}

function describe(error: KubeApiError): string {
  return error.statusCode === 0
    ? error.message
    : `${error.statusCode} ${error.reason}: ${error.message}`;
}

/** The resource kind behind each request command. */
export const REQUEST_KINDS = { snapshot: SNAPSHOT_REQUESTS, restore: RESTORE_REQUESTS } as const;
