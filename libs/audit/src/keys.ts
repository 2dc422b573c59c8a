/**
 * Redis key layout of the audit library, all under one caller-chosen prefix. Multi-key
 * scripts touch several of these keys at once: on Redis Cluster the prefix must carry a hash
 * tag (e.g. `snapwarden:{history}:`) so they share a slot.
 */
export const auditKeys = {
  /** Stream of audit events. */
  stream: (prefix: string): string => `${prefix}audit`,
  /** Hash of one run: meta fields, `v:<volume>` JSON results, `n:<state>` counters. */
  run: (prefix: string, id: string): string => `${prefix}run:${id}`,
  /** Index of all runs (sorted set, see `runIndexMember`). */
  runs: (prefix: string): string => `${prefix}runs`,
  /** Index of the runs of one policy (`namespace/name`). */
  policyRuns: (prefix: string, policy: string): string => `${prefix}runs:policy:${policy}`,
  /** Hash: policy (`namespace/name`) → index member of its newest finished run. */
  latestRuns: (prefix: string): string => `${prefix}runs:latest`,
  /** Index of the runs touching one volume (`namespace/name`). */
  volumeRuns: (prefix: string, namespace: string, volume: string): string =>
    `${prefix}runs:volume:${namespace}/${volume}`,
};
