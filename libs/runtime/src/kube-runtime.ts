import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '#lib/config';
import {
  catchUpPolicyStatus,
  PolicyStatusObserver,
  type EngineDeps,
  type StatusCatchUpResult,
} from '#lib/engine';
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
    markTold: async (policyKey, runId) => {
      await redis.hset(toldKey(options.prefix), policyKey, runId);
    },
    clock: deps.clock,
    onError: (error, context) =>
      options.logger.warn(
        { ...context, err: error instanceof Error ? error.message : String(error) },
        `BackupPolicy ${context.policy}: ${context.action} for run ${context.runId} failed`,
      ),
  });
}

/** The run last told to each policy's status: policy key → run id, shared by every replica. */
function toldKey(prefix: string): string {
  return `${prefix}:status-told`;
}

/**
 * One pass of the policy status catch-up, by one replica at a time: resolves to undefined when
 * another replica's pass holds the turn (a lock of `turnMs`).
 */
export type StatusCatchUp = () => Promise<StatusCatchUpResult | undefined>;

/**
 * Kubernetes mode's {@link StatusCatchUp} over `observer` (the status observer, which marks each
 * run it told). The turn keeps two scheduler replicas from telling the same run twice; told marks
 * of policies that no longer exist are dropped on the way. The very first pass (no told mark was
 * ever kept: a new installation, or one upgraded from a version without them) marks every
 * policy's latest run told without writing it, so that an upgrade does not rewrite every status
 * and repeat every policy's last Warning.
 */
export function createStatusCatchUp(
  deps: Pick<EngineDeps, 'policies' | 'runs' | 'clock' | 'identity'>,
  observer: PolicyStatusObserver,
  redis: Redis,
  options: { prefix: string; graceMs: number; turnMs: number },
): StatusCatchUp {
  const told = toldKey(options.prefix);
  return async () => {
    const turn = await redis.set(
      `${options.prefix}:status-catch-up`,
      deps.identity,
      'PX',
      options.turnMs,
      'NX',
    );
    if (turn !== 'OK') return undefined;
    if ((await redis.set(`${told}:seeded`, deps.identity, 'NX')) === 'OK') {
      const keys = await deps.policies.keys();
      const latest = await deps.runs.latestIds(keys);
      if (latest.size > 0) await redis.hset(told, Object.fromEntries(latest));
      return { policies: keys.length, caughtUp: [] };
    }
    const result = await catchUpPolicyStatus({
      policies: deps.policies,
      runs: deps.runs,
      observer,
      told: async (keys) => (await redis.hmget(told, ...keys)).map((v) => v ?? undefined),
      clock: deps.clock,
      graceMs: options.graceMs,
    });
    const current = new Set(await deps.policies.keys());
    const gone = (await redis.hkeys(told)).filter((key) => !current.has(key));
    if (gone.length > 0) await redis.hdel(told, ...gone);
    return result;
  };
}
