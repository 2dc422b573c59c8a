import { z } from 'zod';
import { parseDuration } from './duration.js';
import { quoteValue } from './field-errors.js';
import { hooksSchemaWith } from './hooks.schema.js';
import { isDns1123Label, isDns1123Subdomain, isLabelKey, isLabelValue } from './k8s-syntax.js';
import { shortestIntervalMs, validateSchedule } from './schedule.js';
import { isValidTimeZone } from './time-zone.js';

/*
 * The BackupPolicy contract, once: validation (`parseBackupPolicy`), TypeScript types and the
 * CRD's OpenAPI schema (`backupPolicySpecOpenApiSchema`) all derive from these schemas.
 * Refinements (cron syntax, zones, label syntax) do not reach the OpenAPI schema; the
 * controller validates with `parseBackupPolicy` as well.
 */

/** API group/version of every snapwarden resource. */
export const API_VERSION = 'snapwarden.io/v1alpha1';
/** Kind of the policy resource. */
export const BACKUP_POLICY_KIND = 'BackupPolicy';

/** Retention counts, restic semantics; the union of what each rule keeps is retained. */
export const KEEP_RULES = [
  'keepLast',
  'keepHourly',
  'keepDaily',
  'keepWeekly',
  'keepMonthly',
  'keepYearly',
] as const;
/** One retention count field. */
export type KeepRule = (typeof KEEP_RULES)[number];

const count = (description: string) => z.number().int().min(0).optional().describe(description);

const durationString = z.string().superRefine((value, ctx) => {
  try {
    if (parseDuration(value) === 0)
      ctx.addIssue({ code: 'custom', message: 'must be longer than 0' });
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'invalid' });
  }
});

const labelValue = z.string().superRefine((value, ctx) => {
  if (!isLabelValue(value)) {
    ctx.addIssue({ code: 'custom', message: `invalid label value ${quoteValue(value)}` });
  }
});

/**
 * Labels as a map, keys and values checked as Kubernetes label keys and values. Keys are checked
 * by the record's key schema, on the input itself: a key such as `__proto__` is refused, never
 * dropped (a dropped key would leave `{}`, a selector that matches every volume).
 */
const labelMap = () =>
  z.record(z.string().refine(isLabelKey, { message: 'invalid label key' }), labelValue);

/** A claim (volume) name: a DNS-1123 subdomain, as Kubernetes names claims. */
export const ClaimNameSchema = z
  .string()
  .min(1)
  .superRefine((name, ctx) => {
    if (name === '' || isDns1123Subdomain(name)) return; // empty: reported by min(1)
    const message = 'must be a DNS-1123 subdomain: lowercase letters, digits, - and ., at most 253';
    ctx.addIssue({ code: 'custom', message });
  });

/**
 * `spec.retention`. Invariant: at least one keep* count is ≥ 1, so the number of retained
 * snapshots is bounded by their sum (`maxAge` alone could not bound it under the driver's cap).
 */
export const RetentionSchema = z
  .strictObject({
    keepLast: count('Keep the newest N snapshots.'),
    keepHourly: count('Keep the newest snapshot of each of the last N hours that have one.'),
    keepDaily: count(
      'Keep the newest snapshot of each of the last N days (in timeZone) that have one.',
    ),
    keepWeekly: count('Keep the newest snapshot of each of the last N ISO weeks that have one.'),
    keepMonthly: count('Keep the newest snapshot of each of the last N months that have one.'),
    keepYearly: count('Keep the newest snapshot of each of the last N years that have one.'),
    maxAge: durationString
      .optional()
      .describe(
        'Upper bound on age, e.g. 30d, 12h, 1h30m: older snapshots are pruned even if a keep rule ' +
          'selects them (the newest ready snapshot of a volume is always kept).',
      ),
  })
  .refine((r) => KEEP_RULES.some((rule) => (r[rule] ?? 0) >= 1), {
    message: `at least one of ${KEEP_RULES.join(', ')} must be 1 or more`,
  })
  .describe('Which snapshots rotation keeps (restic semantics, in the policy time zone).');

/** One `matchExpressions` entry; `In`/`NotIn` need values, `Exists`/`DoesNotExist` none. */
export const LabelSelectorRequirementSchema = z
  .strictObject({
    key: z.string().describe('Label key.'),
    operator: z
      .enum(['In', 'NotIn', 'Exists', 'DoesNotExist'])
      .describe('How key and values relate.'),
    values: z.array(labelValue).optional().describe('Values for In and NotIn.'),
  })
  .superRefine((req, ctx) => {
    const needsValues = req.operator === 'In' || req.operator === 'NotIn';
    const hasValues = (req.values ?? []).length > 0;
    if (needsValues !== hasValues) {
      const message = needsValues
        ? `${req.operator} needs values`
        : `${req.operator} takes no values`;
      ctx.addIssue({ code: 'custom', path: ['values'], message });
    }
    if (!isLabelKey(req.key))
      ctx.addIssue({ code: 'custom', path: ['key'], message: 'invalid label key' });
  });

/** A Kubernetes label selector; `{}` selects everything (see `matchesSelector`). */
export const LabelSelectorSchema = z
  .strictObject({
    matchLabels: labelMap().optional().describe('Labels a volume must carry, all of them.'),
    matchExpressions: z
      .array(LabelSelectorRequirementSchema)
      .optional()
      .describe('Requirements a volume must meet, all of them.'),
  })
  .describe('Label selector over volumes (claims).');

/** `spec.hooks` of BackupPolicy and SnapshotRequest (see hooks.schema.ts). */
export const HooksSchema = hooksSchemaWith(LabelSelectorSchema);

/** What happens when a scheduled run finds the previous run of the same volume still going. */
export const ConcurrencyPolicySchema = z.enum(['Forbid', 'Replace', 'Allow']);
/** What happens to a policy's snapshots when the policy is deleted. */
export const DeletionPolicySchema = z.enum(['Retain', 'Delete']);

/**
 * `spec` of a BackupPolicy. Strict: unknown fields are errors. Invariant after parsing: the
 * schedule is valid cron (see `validateSchedule`), the time zone is an IANA zone, and at least
 * one of `selector` / `claimNames` selects volumes. Cap-dependent checks live in
 * `parseBackupPolicy`, which also fills `driver`.
 */
export const BackupPolicySpecSchema = z
  .strictObject({
    schedule: z
      .string()
      .superRefine((s, ctx) => {
        const problem = validateSchedule(s);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .describe(
        '5-field cron, or @hourly, @daily, @weekly, @monthly, @yearly; 6-field (seconds first) for tests.',
      ),
    timeZone: z
      .string()
      .refine(isValidTimeZone, { message: 'must be an IANA time zone such as Europe/Berlin' })
      .default('UTC')
      .describe('IANA time zone of the schedule and of the retention buckets.'),
    jitterSeconds: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'Stable per-policy delay, up to this many seconds, to spread load; below the shortest interval of the schedule.',
      ),
    selector: LabelSelectorSchema.optional(),
    claimNames: z
      .array(ClaimNameSchema)
      .optional()
      .describe('Volumes (claims) by name, in the policy namespace.'),
    snapshotClassName: z
      .string()
      .refine(isDns1123Subdomain, { message: 'must be a DNS-1123 subdomain' })
      .optional()
      .describe('VolumeSnapshotClass to use (kubernetes mode).'),
    driver: z
      .string()
      .min(1)
      .optional()
      .describe('Storage driver; defaults to csi in kubernetes mode and local in local mode.'),
    retention: RetentionSchema,
    reservedSlots: z
      .number()
      .int()
      .min(0)
      .default(1)
      .describe('Slots under the per-volume cap that rotation keeps free for on-demand snapshots.'),
    concurrencyPolicy: ConcurrencyPolicySchema.default('Forbid').describe(
      'Forbid skips a run while the previous one of the volume runs; Replace cancels it; Allow queues it.',
    ),
    startingDeadlineSeconds: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('A run starting later than this after its tick is recorded as missed, not run.'),
    suspend: z
      .boolean()
      .default(false)
      .describe('Stops scheduling new runs; existing snapshots stay.'),
    snapshotLabels: labelMap().optional().describe('Extra labels on every snapshot.'),
    deletionPolicy: DeletionPolicySchema.default('Retain').describe(
      "What happens to the policy's snapshots when the policy is deleted.",
    ),
    hooks: HooksSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    const jitterProblem = jitterBoundProblem(spec.schedule, spec.jitterSeconds);
    if (jitterProblem !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['jitterSeconds'], message: jitterProblem });
    }
    if (spec.selector === undefined && (spec.claimNames ?? []).length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['selector'],
        message: 'selector or claimNames is required',
      });
    }
  })
  .describe('Desired state of a BackupPolicy.');

const dns1123Label = z.string().refine(isDns1123Label, {
  message: 'must be a DNS-1123 label: lowercase letters, digits and -, at most 63 characters',
});

/** Object metadata we read; other keys Kubernetes adds are accepted and dropped. */
export const PolicyMetadataSchema = z.object({
  name: dns1123Label,
  namespace: dns1123Label.default('default'),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** A whole BackupPolicy document (custom resource or local YAML file); `status` is ignored. */
export const BackupPolicySchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(BACKUP_POLICY_KIND),
  metadata: PolicyMetadataSchema,
  spec: BackupPolicySpecSchema,
});

/** `spec.retention` after parsing. */
export type Retention = z.output<typeof RetentionSchema>;
/** A label selector. */
export type LabelSelector = z.output<typeof LabelSelectorSchema>;
/** One `matchExpressions` requirement. */
export type LabelSelectorRequirement = z.output<typeof LabelSelectorRequirementSchema>;
/** `Forbid` | `Replace` | `Allow`. */
export type ConcurrencyPolicy = z.output<typeof ConcurrencyPolicySchema>;
/** `Retain` | `Delete`. */
export type DeletionPolicy = z.output<typeof DeletionPolicySchema>;
/** Policy metadata after parsing (`namespace` defaulted). */
export type PolicyMetadata = z.output<typeof PolicyMetadataSchema>;
/** A BackupPolicy document as written (before defaults). */
export type BackupPolicyInput = z.input<typeof BackupPolicySchema>;

/** `spec` after `parseBackupPolicy`: defaults applied and `driver` resolved. */
export type BackupPolicySpec = Omit<z.output<typeof BackupPolicySpecSchema>, 'driver'> & {
  driver: string;
};

/** A BackupPolicy after `parseBackupPolicy`: valid, defaults applied, driver resolved. */
export interface BackupPolicy {
  apiVersion: typeof API_VERSION;
  kind: typeof BACKUP_POLICY_KIND;
  metadata: PolicyMetadata;
  spec: BackupPolicySpec;
}

/** Jitter must stay below the schedule's shortest interval, or a tick would run after the next. */
function jitterBoundProblem(schedule: string, jitterSeconds: number): string | undefined {
  if (jitterSeconds === 0 || validateSchedule(schedule) !== undefined) return undefined;
  const bound = shortestIntervalMs(schedule) / 1000;
  if (jitterSeconds < bound) return undefined;
  return `must be less than ${bound} seconds, the shortest interval of schedule "${schedule}"`;
}
