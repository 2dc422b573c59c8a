import { fieldErrorsFromIssues, type FieldError } from './field-errors.js';
import { BackupPolicySchema, type BackupPolicy, type BackupPolicySpec } from './policy.schema.js';
import { unsafeKeyErrors } from './unsafe-keys.js';
import { retentionFootprint } from './retention-footprint.js';

/** What validation needs to know about the running mode and its drivers. */
export interface PolicyContext {
  /** Driver used when `spec.driver` is absent (`csi` in kubernetes mode, `local` in local mode). */
  defaultDriver: string;
  /** The driver's per-volume snapshot cap, or `undefined` when unknown (cap checks are skipped). */
  maxSnapshotsPerVolume: (driver: string) => number | undefined;
}

/** Outcome of {@link parseBackupPolicy}. */
export type PolicyParseResult =
  { ok: true; policy: BackupPolicy } | { ok: false; errors: FieldError[] };

/**
 * Validates a BackupPolicy document (custom resource or YAML file) and applies defaults.
 *
 * Invariants: never throws; `ok: true` means the schema holds, the schedule parses, the time
 * zone exists, `driver` is filled, and, when the driver's cap is known, `reservedSlots < cap`
 * and the retention's peak footprint (see `retentionFootprint`) fits in `cap − reservedSlots`,
 * so rotation can always make room for the next scheduled snapshot while only this policy's
 * snapshots occupy the volume. `ok: false` names every offending field.
 */
export function parseBackupPolicy(input: unknown, ctx: PolicyContext): PolicyParseResult {
  try {
    const unsafe = unsafeKeyErrors(input);
    if (unsafe.length > 0) return { ok: false, errors: unsafe };
    const parsed = BackupPolicySchema.safeParse(input, { reportInput: true });
    if (!parsed.success) return { ok: false, errors: fieldErrorsFromIssues(parsed.error.issues) };
    const spec: BackupPolicySpec = {
      ...parsed.data.spec,
      driver: parsed.data.spec.driver ?? ctx.defaultDriver,
    };
    const errors = capErrors(spec, ctx.maxSnapshotsPerVolume(spec.driver));
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, policy: { ...parsed.data, spec } };
  } catch (error) {
    // A throwing refinement or context callback must not take the caller down with it.
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, errors: [{ field: '(root)', message: `cannot validate: ${message}` }] };
  }
}

function capErrors(spec: BackupPolicySpec, cap: number | undefined): FieldError[] {
  if (cap === undefined) return [];
  const { reservedSlots, driver } = spec;
  if (reservedSlots >= cap) {
    const message = `must be less than the cap of driver "${driver}", ${cap} snapshots per volume`;
    return [{ field: 'spec.reservedSlots', message }];
  }
  const limit = cap - reservedSlots;
  const { retained, peak } = retentionFootprint(spec.retention);
  if (peak <= limit) return [];
  const why =
    peak === retained
      ? ''
      : ` (${retained} by its keep rules plus the newest ready one until a new snapshot is ready;` +
        ' keepLast of 2 or more avoids that extra slot)';
  const slots = reservedSlots === 1 ? 'slot' : 'slots';
  const message =
    `keeps up to ${peak} snapshots per volume${why} but the driver's cap is ${cap} ` +
    `with ${reservedSlots} reserved ${slots}: at most ${limit}`;
  return [{ field: 'spec.retention', message }];
}
