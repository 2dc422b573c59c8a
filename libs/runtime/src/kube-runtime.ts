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
 * The run observer of kubernetes mode: each run's end lands in its BackupPolicy's status and
 * as an Event on it. `missedRuns` is a counter in Redis shared by every replica.
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
    clock: deps.clock,
    onError: (error, context) =>
      options.logger.warn(
        { ...context, err: error instanceof Error ? error.message : String(error) },
        `BackupPolicy ${context.policy}: ${context.action} failed`,
      ),
  });
}
