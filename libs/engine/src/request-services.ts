import type { Redis } from 'ioredis';
import type { EngineDeps } from './engine-deps.js';
import { RequestStore } from './request-store.js';
import { RestoreService } from './restore.service.js';
import { SnapshotRequestService } from './snapshot-request.service.js';
import { SnapshotsInUse } from './snapshots-in-use.js';

/** The request-side services over one store: what the API, the worker and the resource controller share. */
export interface RequestServices {
  snapshots: SnapshotRequestService;
  restores: RestoreService;
}

/** SnapshotRequest and RestoreRequest services over the request store under `prefix`. */
export function createRequestServices(
  deps: EngineDeps,
  redis: Redis,
  prefix: string,
): RequestServices {
  const store = new RequestStore(redis, prefix);
  return {
    snapshots: new SnapshotRequestService(deps, store),
    restores: new RestoreService(deps, store, new SnapshotsInUse(redis, prefix)),
  };
}
