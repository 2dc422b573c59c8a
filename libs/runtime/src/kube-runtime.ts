import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '#lib/config';
import { PolicyStatusObserver, type EngineDeps } from '#lib/engine';
import { KubeClient, loadKubeConfig } from '#lib/kube';
import { KubePolicyStatus } from './kube-policy-status.js';

/**
 * The Kubernetes client of kubernetes mode: the kubeconfig file of `KUBECONFIG`, else the
 * pod's service account; rate limited to `SNAPWARDEN_KUBE_QPS` / `SNAPWARDEN_KUBE_BURST`.
 */
export function createKubeClient(config: Config): KubeClient {
  const kc = loadKubeConfig({
    kubeconfigPath: config.kube.kubeconfig,
    inCluster: config.kube.kubeconfig === undefined,
  });
  return new KubeClient(kc, { qps: config.kube.qps, burst: config.kube.burst });
}

/**
 * How long the last run Event of a policy is remembered: a policy that has not run for this long
 * gets its next Normal Event again (and a removed policy's key goes away).
 */
const LAST_EVENT_TTL_S = 7 * 24 * 3600;

/**
 * The run observer of kubernetes mode: each run's end lands in its BackupPolicy's status, and as
 * an Event on it when that Event is news. `missedRuns` and the last run Event of each policy are
 * kept in Redis, shared by every replica.
 */
export function createPolicyStatusObserver(
  kube: KubeClient,
  deps: Pick<EngineDeps, 'policies' | 'clock'>,
  redis: Redis,
  options: { prefix: string; logger: Logger },
): PolicyStatusObserver {
  return new PolicyStatusObserver({
    policies: deps.policies,
    port: new KubePolicyStatus(kube, 'snapwarden-worker'),
    countMissed: (policyKey) => redis.incr(`${options.prefix}:missed-runs:${policyKey}`),
    swapLastEvent: async (policyKey, event) =>
      (await redis.set(
        `${options.prefix}:last-run-event:${policyKey}`,
        event,
        'EX',
        LAST_EVENT_TTL_S,
        'GET',
      )) ?? undefined,
    clock: deps.clock,
    onError: (error, context) =>
      options.logger.warn(
        { ...context, err: error instanceof Error ? error.message : String(error) },
        `BackupPolicy ${context.policy}: ${context.action} failed`,
      ),
  });
}
