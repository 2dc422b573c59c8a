import {
  RequestStore,
  RestoreService,
  SnapshotRequestService,
  SnapshotsInUse,
  type RestoreRecord,
  type SnapshotRequestStatus,
} from '#lib/engine';
import { parseRestoreRequestSpec, parseSnapshotRequestSpec } from '#lib/policy';
import { RequestQueues } from '#lib/queues';
import type { EngineHarness } from './engine-harness.js';

/** Submits snapshot requests and restores to an engine harness as the API does. */
export interface RequestHarness {
  requests: SnapshotRequestService;
  restores: RestoreService;
  inUse: SnapshotsInUse;
  producer: RequestQueues;
  snapshot(name: string, spec: Record<string, unknown>): Promise<void>;
  restore(name: string, spec: Record<string, unknown>): Promise<void>;
  waitForRequest(name: string, timeoutMs?: number): Promise<SnapshotRequestStatus>;
  waitForRestore(name: string, timeoutMs?: number): Promise<RestoreRecord>;
  close(): Promise<void>;
}

export function createRequestHarness(harness: EngineHarness): RequestHarness {
  const connection = harness.queues.workerConnection('test-requests');
  const store = new RequestStore(harness.redis, harness.prefix);
  const inUse = new SnapshotsInUse(harness.redis, harness.prefix);
  const requests = new SnapshotRequestService(harness.deps, store);
  const restores = new RestoreService(harness.deps, store, inUse);
  const producer = new RequestQueues(connection, harness.prefix);
  async function until<T extends { phase: string }>(
    read: () => Promise<T | undefined>,
    what: string,
    timeoutMs: number,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (value && (value.phase === 'Succeeded' || value.phase === 'Failed')) return value;
      if (Date.now() > deadline) throw new Error(`${what} not finished: ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    requests,
    restores,
    inUse,
    producer,
    async snapshot(name, spec) {
      const parsed = parseSnapshotRequestSpec(spec);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      const input = { namespace: 'default', name, spec: parsed.value, trigger: 'test' };
      if (!(await requests.create(input))) throw new Error(`request ${name} exists`);
      await producer.submitRequest(`default/${name}`, parsed.value.timeoutSeconds * 1000);
    },
    async restore(name, spec) {
      const parsed = parseRestoreRequestSpec(spec);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      const input = { namespace: 'default', name, spec: parsed.value, trigger: 'test' };
      if (!(await restores.create(input))) throw new Error(`restore ${name} exists`);
      await producer.submitRestore(`default/${name}`);
    },
    waitForRequest(name, timeoutMs = 15_000) {
      return until(() => requests.status(`default/${name}`), `request ${name}`, timeoutMs);
    },
    waitForRestore(name, timeoutMs = 15_000) {
      return until(() => restores.status(`default/${name}`), `restore ${name}`, timeoutMs);
    },
    async close() {
      await producer.close();
      connection.disconnect();
    },
  };
}
