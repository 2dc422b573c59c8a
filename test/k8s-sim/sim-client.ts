import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  StorageV1Api,
  Watch,
} from '@kubernetes/client-node';
import type { KubeSim } from './server.js';
import { isRecord } from './types.js';

/** Real `@kubernetes/client-node` clients pointed at a simulator. */
export interface SimClients {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  storage: StorageV1Api;
  custom: CustomObjectsApi;
  watch: Watch;
}

/** Builds a KubeConfig for the simulator the way application code would (http needs skipTLSVerify). */
export function simKubeConfig(sim: Pick<KubeSim, 'url'>): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'sim', server: sim.url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'sim', cluster: 'sim', user: 'u' }],
    currentContext: 'sim',
  });
  return kc;
}

/** All clients the tests use. */
export function simClients(sim: Pick<KubeSim, 'url'>): SimClients {
  const kc = simKubeConfig(sim);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    storage: kc.makeApiClient(StorageV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    watch: new Watch(kc),
  };
}

/** The HTTP code and decoded `Status` body of a rejected client call. */
export interface CaughtStatus {
  code: number;
  status: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Awaits a call that must fail with an ApiException and returns its code and Status body. */
export async function statusOf(call: Promise<unknown>): Promise<CaughtStatus> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const raw: unknown = error.body;
    const parsed: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
    const headers: Record<string, string> = isRecord(error.headers) ? error.headers : {};
    return { code: error.code, status: isRecord(parsed) ? parsed : {}, headers };
  }
  throw new Error('expected the call to fail');
}

/**
 * Polls until the probe returns a value other than undefined/false, or fails after the timeout.
 * A probe that throws counts as "not yet"; the last error is reported on timeout.
 */
export async function eventually<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 3000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting for ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
