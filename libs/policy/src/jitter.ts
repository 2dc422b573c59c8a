import { createHash } from 'node:crypto';

/**
 * The stable delay, in milliseconds, added to every tick of one policy to spread load.
 *
 * Invariant: a pure function of its inputs (every replica computes the same offset, so ticks
 * stay deterministic), uniformly spread in `[0, jitterSeconds * 1000)`, and `0` when
 * `jitterSeconds` is 0 or less. `policyKey` is whatever identifies the policy for the scheduler
 * (e.g. `namespace/name`).
 */
export function jitterMs(policyKey: string, jitterSeconds: number): number {
  const range = Math.floor(jitterSeconds * 1000);
  if (!Number.isFinite(range) || range <= 0) return 0;
  // 48 bits of the digest: far more than any range, so the modulo bias is negligible.
  const value = createHash('sha256').update(policyKey).digest().readUIntBE(0, 6);
  return value % range;
}
