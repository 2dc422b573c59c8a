import { createHash } from 'node:crypto';
import { DNS1123_LABEL_MAX, isDns1123Label } from './k8s-syntax.js';
import { formatScheduledAt } from './labels.js';

const HASH_CHARS = 8;

/**
 * The name of the snapshot one tick of one policy takes of one volume:
 * `<policy>-<volume>-<yyyymmdd't'hhmmss'z'>`, e.g. `nightly-data-db-0-20261121t020000z`.
 *
 * Invariants (invariant 3 of the product: one tick yields one snapshot, on any replica):
 * - deterministic: the same inputs give the same name, everywhere;
 * - always a DNS-1123 label (lowercase, ≤ 63 characters, never ending in `-`);
 * - when the plain name is not a valid label (too long, uppercase, dots, underscores…) the
 *   policy/volume part is lowercased, sanitised and truncated, and `-<8 hex>` of a sha256 over
 *   the untruncated inputs is inserted before the timestamp, so distinct inputs stay distinct.
 *   Names always end with the timestamp.
 */
export function scheduledSnapshotName(
  policyName: string,
  volumeName: string,
  scheduledAt: Date,
): string {
  return buildName([policyName, volumeName], formatScheduledAt(scheduledAt));
}

/**
 * The name of the snapshot one SnapshotRequest takes of one volume: `<request>-<volume>`, with
 * the same guarantees as {@link scheduledSnapshotName} (the hash, when needed, ends the name).
 */
export function onDemandSnapshotName(requestName: string, volumeName: string): string {
  return buildName([requestName, volumeName], undefined);
}

function buildName(parts: string[], suffix: string | undefined): string {
  const plain = [...parts, ...(suffix === undefined ? [] : [suffix])].join('-');
  if (isDns1123Label(plain)) return plain;
  // JSON keeps the part boundaries, so ("a-b", "c") and ("a", "b-c") hash differently.
  const digest = createHash('sha256')
    .update(JSON.stringify([...parts, suffix ?? null]))
    .digest('hex');
  const tail = [digest.slice(0, HASH_CHARS), ...(suffix === undefined ? [] : [suffix])].join('-');
  const room = DNS1123_LABEL_MAX - tail.length - 1;
  const head = sanitize(parts.join('-')).slice(0, room).replace(/-+$/, '');
  return head === '' ? tail : `${head}-${tail}`;
}

function sanitize(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
