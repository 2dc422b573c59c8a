import type {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  StorageV1Api,
  Watch,
} from '@kubernetes/client-node';
import { clientNode, loadedClientNode, mergePatchOptions } from './client-node.js';
import { type KubeEventInput, eventBody, eventName } from './events.js';
import {
  KubeApiError,
  KubeInvalidError,
  toKubeApiError,
  undefinedIfNotFound,
  type StatusCause,
} from './kube-api-error.js';
import { TokenBucket } from './rate-limiter.js';
import {
  HWAMEISTOR_GROUP,
  HWAMEISTOR_VERSION,
  type KubeObject,
  type LocalVolumeSnapshotRestore,
  type PersistentVolumeClaim,
  SNAPSHOT_GROUP,
  SNAPSHOT_VERSION,
  type StorageClass,
  type VolumeSnapshot,
  type VolumeSnapshotClass,
  type VolumeSnapshotContent,
  asKubeObject,
  isRecord,
  listItems,
  listResourceVersion,
  toPlain,
} from './resources.js';
import { type RetryOptions, withRetry } from './retry.js';
import { type ListWatchSource, resourcePath } from './list-watch-source.js';

/** Client-side limits of a {@link KubeClient}. */
export interface KubeClientOptions {
  /** Sustained requests per second (default 20, as client-go). */
  qps?: number;
  /** Requests allowed at once before the rate applies (default 40). */
  burst?: number;
  retry?: RetryOptions;
}

/** A custom resource type: API group, version and plural name. */
export interface CustomResource {
  group: string;
  version: string;
  plural: string;
}

/** A status to write, or a function of the freshly read object that computes it. */
export type StatusUpdate<T> = Record<string, unknown> | ((current: T) => Record<string, unknown>);

/** A list response: items and the resourceVersion to watch from. */
export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

const VOLUME_SNAPSHOTS: CustomResource = {
  group: SNAPSHOT_GROUP,
  version: SNAPSHOT_VERSION,
  plural: 'volumesnapshots',
};
const SNAPSHOT_CONTENTS: CustomResource = { ...VOLUME_SNAPSHOTS, plural: 'volumesnapshotcontents' };
const SNAPSHOT_CLASSES: CustomResource = { ...VOLUME_SNAPSHOTS, plural: 'volumesnapshotclasses' };
const LVS_RESTORES: CustomResource = {
  group: HWAMEISTOR_GROUP,
  version: HWAMEISTOR_VERSION,
  plural: 'localvolumesnapshotrestores',
};
const STATUS_CONFLICT_ATTEMPTS = 5;

/**
 * The one door to the Kubernetes API. Invariants: every request (watches included) first takes
 * a token from the client-side rate limiter; 429s are retried after `Retry-After`, 5xx and
 * network failures only for idempotent requests (reads, deletes); every failure surfaces as a
 * {@link KubeApiError}. Objects are returned as plain JSON in the typed shapes of `resources.ts`.
 */
export class KubeClient {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly storage: StorageV1Api;
  private readonly watcher: Watch;
  private readonly bucket: TokenBucket;

  constructor(
    readonly kc: KubeConfig,
    private readonly options: KubeClientOptions = {},
  ) {
    const cn = clientNode();
    this.core = kc.makeApiClient(cn.CoreV1Api);
    this.custom = kc.makeApiClient(cn.CustomObjectsApi);
    this.storage = kc.makeApiClient(cn.StorageV1Api);
    this.watcher = new cn.Watch(kc);
    this.bucket = new TokenBucket(options.qps ?? 20, options.burst ?? 40);
  }

  /** Runs one API call under the rate limit and the retry policy. */
  async request<T>(call: () => Promise<T>, idempotent: boolean): Promise<T> {
    return withRetry(
      async () => {
        await this.bucket.acquire();
        return call();
      },
      idempotent,
      this.options.retry,
    );
  }

  /**
   * Starts a watch on `path` (rate limited). `done` is called once when the stream ends: with
   * no error for an orderly end, with the error for a dropped connection.
   */
  async watch(
    path: string,
    query: Record<string, string | boolean | undefined>,
    onEvent: (type: string, object: unknown) => void,
    done: (error?: unknown) => void,
  ): Promise<AbortController> {
    await this.bucket.acquire();
    return this.watcher.watch(
      path,
      query,
      (type: string, object: unknown) => onEvent(type, object),
      done,
    );
  }

  // --- claims and storage classes -------------------------------------------------------

  /** Claims of one namespace, or of all namespaces. */
  async listClaims(namespace?: string, labelSelector?: string): Promise<PersistentVolumeClaim[]> {
    return (await this.listClaimsWithVersion(namespace, labelSelector)).items;
  }

  private async listClaimsWithVersion(
    namespace?: string,
    labelSelector?: string,
  ): Promise<ListResult<PersistentVolumeClaim>> {
    const list = await this.request(
      () =>
        namespace === undefined
          ? this.core.listPersistentVolumeClaimForAllNamespaces({ labelSelector })
          : this.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
      true,
    );
    const plain = toPlain(list);
    return { items: listItems(plain), resourceVersion: listResourceVersion(plain) };
  }

  async getClaim(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined> {
    return undefinedIfNotFound(async () =>
      asKubeObject<PersistentVolumeClaim>(
        toPlain(
          await this.request(
            () => this.core.readNamespacedPersistentVolumeClaim({ namespace, name }),
            true,
          ),
        ),
      ),
    );
  }

  async createClaim(claim: PersistentVolumeClaim): Promise<PersistentVolumeClaim> {
    const namespace = requireNamespace(claim);
    const created = await this.request(
      () => this.core.createNamespacedPersistentVolumeClaim({ namespace, body: claimBody(claim) }),
      false,
    );
    return asKubeObject<PersistentVolumeClaim>(toPlain(created));
  }

  async getStorageClass(name: string): Promise<StorageClass | undefined> {
    return undefinedIfNotFound(async () =>
      asKubeObject<StorageClass>(
        toPlain(await this.request(() => this.storage.readStorageClass({ name }), true)),
      ),
    );
  }

  // --- snapshots --------------------------------------------------------------------------

  async listVolumeSnapshots(namespace?: string, labelSelector?: string): Promise<VolumeSnapshot[]> {
    return (await this.listResource<VolumeSnapshot>(VOLUME_SNAPSHOTS, namespace, labelSelector))
      .items;
  }

  async getVolumeSnapshot(namespace: string, name: string): Promise<VolumeSnapshot | undefined> {
    return this.getResource<VolumeSnapshot>(VOLUME_SNAPSHOTS, namespace, name);
  }

  async createVolumeSnapshot(obj: VolumeSnapshot): Promise<VolumeSnapshot> {
    return this.createResource(VOLUME_SNAPSHOTS, obj);
  }

  /** Deletes a snapshot; a snapshot that is already gone is not an error. */
  async deleteVolumeSnapshot(namespace: string, name: string): Promise<void> {
    await this.deleteResource(VOLUME_SNAPSHOTS, namespace, name);
  }

  async getVolumeSnapshotClass(name: string): Promise<VolumeSnapshotClass | undefined> {
    return this.getResource<VolumeSnapshotClass>(SNAPSHOT_CLASSES, undefined, name);
  }

  async listVolumeSnapshotClasses(): Promise<VolumeSnapshotClass[]> {
    return (await this.listResource<VolumeSnapshotClass>(SNAPSHOT_CLASSES)).items;
  }

  async createVolumeSnapshotContent(obj: VolumeSnapshotContent): Promise<VolumeSnapshotContent> {
    return this.createResource(SNAPSHOT_CONTENTS, obj);
  }

  async getVolumeSnapshotContent(name: string): Promise<VolumeSnapshotContent | undefined> {
    return this.getResource<VolumeSnapshotContent>(SNAPSHOT_CONTENTS, undefined, name);
  }

  async createLocalVolumeSnapshotRestore(
    obj: LocalVolumeSnapshotRestore,
  ): Promise<LocalVolumeSnapshotRestore> {
    return this.createResource(LVS_RESTORES, obj);
  }

  async getLocalVolumeSnapshotRestore(
    name: string,
  ): Promise<LocalVolumeSnapshotRestore | undefined> {
    return this.getResource<LocalVolumeSnapshotRestore>(LVS_RESTORES, undefined, name);
  }

  // --- generic custom objects ---------------------------------------------------------------

  /** One custom object (cluster-scoped when `namespace` is undefined), or undefined on 404. */
  async getCustom<T extends KubeObject>(
    group: string,
    version: string,
    plural: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    return this.getResource<T>({ group, version, plural }, namespace, name);
  }

  /** Custom objects of one namespace, or of all namespaces (and of cluster-scoped types). */
  async listCustom<T extends KubeObject>(
    group: string,
    version: string,
    plural: string,
    namespace?: string,
    labelSelector?: string,
  ): Promise<T[]> {
    return (await this.listResource<T>({ group, version, plural }, namespace, labelSelector)).items;
  }

  /**
   * Creates a custom object (cluster-scoped when `metadata.namespace` is unset). Like every
   * create it is retried only when the server refused before writing (429); a 422 Invalid
   * throws a {@link KubeInvalidError} carrying the server's `details.causes`.
   */
  async createCustom<T extends KubeObject>(resource: CustomResource, obj: T): Promise<T> {
    return this.createResource(resource, obj);
  }

  /**
   * Merge-patches the status subresource with `{status}`. `status` may be a function of the
   * object as read just before the write. On 409 Conflict the object is read again and the
   * patch sent again (recomputed when it is a function), up to 5 times; then the conflict is thrown.
   */
  // eslint-disable-next-line max-params -- the positional signature is the published API
  async patchCustomStatus<T extends KubeObject>(
    group: string,
    version: string,
    plural: string,
    namespace: string | undefined,
    name: string,
    status: StatusUpdate<T>,
  ): Promise<T> {
    const resource = { group, version, plural };
    for (let attempt = 1; ; attempt += 1) {
      const current =
        attempt > 1 || typeof status === 'function'
          ? await this.getResource<T>(resource, namespace, name)
          : undefined;
      const body = {
        status: typeof status === 'function' ? status(mustExist(current, plural, name)) : status,
      };
      try {
        const raw: unknown = await this.request(
          () => this.patchStatusOnce(resource, namespace, name, body),
          false,
        );
        return asKubeObject<T>(raw);
      } catch (error) {
        const apiError = toKubeApiError(error);
        if (!apiError.conflict || attempt >= STATUS_CONFLICT_ATTEMPTS) throw apiError;
      }
    }
  }

  /** A list-and-watch source for an {@link Informer} over a custom resource. */
  customSource<T extends KubeObject>(
    resource: CustomResource,
    namespace?: string,
    labelSelector?: string,
  ): ListWatchSource<T> {
    return {
      path: resourcePath(resource.group, resource.version, resource.plural, namespace),
      labelSelector,
      list: () => this.listResource<T>(resource, namespace, labelSelector),
    };
  }

  /** A list-and-watch source for an {@link Informer} over PersistentVolumeClaims. */
  claimSource(namespace?: string, labelSelector?: string): ListWatchSource<PersistentVolumeClaim> {
    return {
      path: resourcePath('', 'v1', 'persistentvolumeclaims', namespace),
      labelSelector,
      list: () => this.listClaimsWithVersion(namespace, labelSelector),
    };
  }

  /** A list-and-watch source for an {@link Informer} over VolumeSnapshots. */
  volumeSnapshotSource(
    namespace?: string,
    labelSelector?: string,
  ): ListWatchSource<VolumeSnapshot> {
    return this.customSource<VolumeSnapshot>(VOLUME_SNAPSHOTS, namespace, labelSelector);
  }

  private async getResource<T extends KubeObject>(
    resource: CustomResource,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    return undefinedIfNotFound(async () => {
      const raw: unknown = await this.request(
        () =>
          namespace === undefined
            ? this.custom.getClusterCustomObject({ ...resource, name })
            : this.custom.getNamespacedCustomObject({ ...resource, namespace, name }),
        true,
      );
      return asKubeObject<T>(raw);
    });
  }

  private async listResource<T extends KubeObject>(
    resource: CustomResource,
    namespace?: string,
    labelSelector?: string,
  ): Promise<ListResult<T>> {
    const raw: unknown = await this.request(
      () =>
        namespace === undefined
          ? this.custom.listClusterCustomObject({ ...resource, labelSelector })
          : this.custom.listNamespacedCustomObject({ ...resource, namespace, labelSelector }),
      true,
    );
    return { items: listItems<T>(raw), resourceVersion: listResourceVersion(raw) };
  }

  private async createResource<T extends KubeObject>(resource: CustomResource, obj: T): Promise<T> {
    const namespace = obj.metadata.namespace;
    const raw: unknown = await this.request(
      () =>
        (namespace === undefined
          ? this.custom.createClusterCustomObject({ ...resource, body: obj })
          : this.custom.createNamespacedCustomObject({ ...resource, namespace, body: obj })
        ).catch((error: unknown) => {
          throw withCauses(error);
        }),
      false,
    );
    return asKubeObject<T>(raw);
  }

  private async deleteResource(
    resource: CustomResource,
    namespace: string | undefined,
    name: string,
  ): Promise<void> {
    await undefinedIfNotFound(() =>
      this.request(
        () =>
          namespace === undefined
            ? this.custom.deleteClusterCustomObject({ ...resource, name })
            : this.custom.deleteNamespacedCustomObject({ ...resource, namespace, name }),
        true,
      ),
    );
  }

  // --- events -------------------------------------------------------------------------------

  /**
   * Records a core v1 Event on an object. The name is derived from the object, type, reason and
   * message, so repeating the same event bumps its `count` and `lastTimestamp` instead of
   * creating another object. Events are best-effort: callers usually log a rejection and go on.
   */
  async createEvent(input: KubeEventInput): Promise<void> {
    const namespace = input.involvedObject.namespace ?? 'default';
    const name = eventName(input);
    try {
      await this.request(
        () => this.core.createNamespacedEvent({ namespace, body: eventBody(input, name) }),
        false,
      );
    } catch (error) {
      const apiError = toKubeApiError(error);
      if (!apiError.alreadyExists) throw apiError;
      await this.bumpEvent(namespace, name);
    }
  }

  private async bumpEvent(namespace: string, name: string): Promise<void> {
    const existing = await this.request(
      () => this.core.readNamespacedEvent({ namespace, name }),
      true,
    );
    const body = { count: (existing.count ?? 1) + 1, lastTimestamp: new Date().toISOString() };
    await this.request(
      () => this.core.patchNamespacedEvent({ namespace, name, body }, mergePatchOptions()),
      false,
    ).catch((error: unknown) => {
      throw toKubeApiError(error);
    });
  }

  private patchStatusOnce(
    resource: CustomResource,
    namespace: string | undefined,
    name: string,
    body: { status: Record<string, unknown> },
  ): Promise<unknown> {
    return namespace === undefined
      ? this.custom.patchClusterCustomObjectStatus({ ...resource, name, body }, mergePatchOptions())
      : this.custom.patchNamespacedCustomObjectStatus(
          { ...resource, namespace, name, body },
          mergePatchOptions(),
        );
  }
}

/** Keeps `details.causes` of a 422, which {@link toKubeApiError} does not carry. */
function withCauses(error: unknown): KubeApiError {
  const apiError = toKubeApiError(error);
  const apiException = loadedClientNode()?.ApiException;
  if (apiError.statusCode !== 422 || !apiException || !(error instanceof apiException)) {
    return apiError;
  }
  return new KubeInvalidError(apiError.message, statusCauses(error.body));
}

function statusCauses(body: unknown): StatusCause[] {
  let status: unknown = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return [];
    }
  }
  const details = isRecord(status) ? status.details : undefined;
  const causes = isRecord(details) && Array.isArray(details.causes) ? details.causes : [];
  return causes.filter(isRecord).map((cause) => ({
    field: typeof cause.field === 'string' ? cause.field : '',
    message: typeof cause.message === 'string' ? cause.message : '',
  }));
}

function mustExist<T>(value: T | undefined, plural: string, name: string): T {
  if (value === undefined) throw new KubeApiError(404, 'NotFound', `${plural} "${name}" not found`);
  return value;
}

function requireNamespace(obj: KubeObject): string {
  const namespace = obj.metadata.namespace;
  if (namespace === undefined || namespace === '') {
    throw new KubeApiError(
      400,
      'BadRequest',
      `${obj.kind ?? 'object'} ${obj.metadata.name} needs a namespace`,
    );
  }
  return namespace;
}

/** The typed client wants its model class; a plain object of the same JSON shape is what it sends. */
function claimBody(
  claim: PersistentVolumeClaim,
): Parameters<CoreV1Api['createNamespacedPersistentVolumeClaim']>[0]['body'] {
  const body: unknown = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', ...claim };
  if (!isRecord(body)) throw new TypeError('claim is not an object');
  return body;
}
