import { createHash } from 'node:crypto';
import { isLabelValue } from './k8s-syntax.js';

/**
 * Label and annotation keys snapwarden writes on the snapshots it creates. They are the contract
 * by which any replica (and any operator with `kubectl -l`) recognises a snapshot's origin.
 */

/** Standard "managed by" label; value {@link MANAGED_BY_VALUE} on every snapshot we create. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** Value of {@link LABEL_MANAGED_BY}. */
export const MANAGED_BY_VALUE = 'snapwarden';
/** Name of the BackupPolicy that created a scheduled snapshot (same namespace). */
export const LABEL_POLICY = 'snapwarden.io/policy';
/** Nominal tick of a scheduled snapshot, compact UTC (`20261121t020000z`, see {@link formatScheduledAt}). */
export const LABEL_SCHEDULED_AT = 'snapwarden.io/scheduled-at';
/** Name of the SnapshotRequest that created an on-demand snapshot. */
export const LABEL_ON_DEMAND = 'snapwarden.io/on-demand';
/** `"true"` protects a snapshot from rotation, whoever created it. */
export const LABEL_KEEP = 'snapwarden.io/keep';
/** Value of {@link LABEL_KEEP} that protects a snapshot. */
export const KEEP_VALUE = 'true';
/** Name of the snapshot's source volume (claim). */
export const LABEL_VOLUME = 'snapwarden.io/volume';
/** Free text: why a snapshot was taken (e.g. the SnapshotRequest's `spec.reason`). */
export const ANNOTATION_REASON = 'snapwarden.io/reason';

const COMPACT_UTC = /^(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})z$/;

/**
 * Formats an instant as compact UTC, `20261121t020000z`: a valid label value and DNS-1123 label
 * fragment that sorts chronologically. Sub-second precision is dropped.
 */
export function formatScheduledAt(at: Date): string {
  const iso = at.toISOString(); // 2026-11-21T02:00:00.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}t${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}z`;
}

/** Reads a {@link formatScheduledAt} value back, or `undefined` if it is not one. */
export function parseScheduledAt(value: string): Date | undefined {
  const m = COMPACT_UTC.exec(value);
  if (!m) return undefined;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(date.getTime()) || formatScheduledAt(date) !== value ? undefined : date;
}

const LABEL_VALUE_MAX = 63;
const HASH_LENGTH = 8;

/**
 * The label value snapwarden writes for `value` (a claim, policy, request or snapshot name):
 * `value` itself when it is a valid label value, otherwise the longest valid prefix of it with
 * characters outside `[A-Za-z0-9._-]` replaced by `-`, followed by `-` and 8 hex characters of a
 * sha256 over the untrimmed value, so distinct long names stay distinct.
 *
 * Invariant: the result is a valid label value (at most 63 characters, starts and ends
 * alphanumeric), a pure function of `value`, and `value` unchanged whenever that is valid.
 */
export function labelValue(value: string): string {
  if (isLabelValue(value)) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, HASH_LENGTH);
  const prefix = value
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, LABEL_VALUE_MAX - HASH_LENGTH - 1)
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/[^A-Za-z0-9]+$/, '');
  return prefix === '' ? hash : `${prefix}-${hash}`;
}
