import { z } from 'zod';
import { parseDuration } from './duration.js';
import { fieldErrorsFromIssues, type FieldError } from './field-errors.js';
import { structuralOpenApiSchema, type OpenApiSchema } from './json-schema.js';
import { isDns1123Subdomain } from './k8s-syntax.js';
import { QuiesceSchema } from './hooks.schema.js';
import { ClaimNameSchema, HooksSchema, LabelSelectorSchema } from './policy.schema.js';
import { unsafeKeyErrors } from './unsafe-keys.js';

/*
 * The SnapshotRequest and RestoreRequest contracts, once: validation, TypeScript types and the
 * CRDs' OpenAPI schemas derive from these zod schemas (as BackupPolicy's do from
 * policy.schema.ts).
 */

/** Kind of the on-demand snapshot resource. */
export const SNAPSHOT_REQUEST_KIND = 'SnapshotRequest';
/** Kind of the restore resource. */
export const RESTORE_REQUEST_KIND = 'RestoreRequest';

/** Maximum length of `spec.reason` of a SnapshotRequest. */
export const REASON_MAX = 1024;

/**
 * A Kubernetes quantity (`10Gi`, `500M`, `1e9`), RE2-compatible so that the API server can
 * check it too.
 */
export const QUANTITY_PATTERN =
  /^(\+)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

const objectName = (description: string) =>
  z
    .string()
    .min(1)
    .max(253)
    .refine(isDns1123Subdomain, { message: 'must be a DNS-1123 subdomain' })
    .describe(description);

const ttl = z
  .string()
  .superRefine((value, ctx) => {
    try {
      parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'invalid' });
    }
  })
  .default('168h')
  .describe('How long the snapshots are kept, e.g. 72h or 30d; 0 keeps them until deleted.');

/**
 * `spec` of a SnapshotRequest: one on-demand snapshot of each selected claim. Strict. Invariant
 * after parsing: `selector` or a non-empty `claimNames` selects claims, `ttl` is a duration
 * (`0`: no expiry) and `timeoutSeconds` ≥ 1.
 */
export const SnapshotRequestSpecSchema = z
  .strictObject({
    selector: LabelSelectorSchema.optional(),
    claimNames: z
      .array(ClaimNameSchema)
      .min(1)
      .optional()
      .describe('Claims by name, in the request namespace.'),
    policyRef: z
      .strictObject({ name: objectName('Name of a BackupPolicy in the request namespace.') })
      .optional()
      .describe('Take snapshot class, driver and snapshot labels from this policy.'),
    reason: z
      .string()
      .max(REASON_MAX)
      .optional()
      .describe('Why the snapshot is taken (shown in the audit log), e.g. "pre-upgrade shop 2.4".'),
    ttl,
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .default(600)
      .describe('The request fails when its snapshots are not all ready after this many seconds.'),
    hooks: HooksSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.selector === undefined && spec.claimNames === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['selector'],
        message: 'selector or claimNames is required',
      });
    }
  })
  .describe('Desired state of a SnapshotRequest.');

/** Access modes a restored claim may request. */
export const AccessModeSchema = z.enum([
  'ReadWriteOnce',
  'ReadOnlyMany',
  'ReadWriteMany',
  'ReadWriteOncePod',
]);

/** `spec.mode` of a RestoreRequest. */
export const RestoreModeSchema = z.enum(['NewVolume', 'Rollback']);

/** `spec.target` of a RestoreRequest: the claim created from the snapshot. */
export const RestoreTargetSchema = z
  .strictObject({
    claimName: objectName('Name of the new claim, in the request namespace.'),
    storageClassName: z
      .string()
      .min(1)
      .optional()
      .describe("Storage class of the new claim; default: the source claim's."),
    size: z
      .string()
      .regex(QUANTITY_PATTERN, { message: 'must be a quantity such as 10Gi' })
      .optional()
      .describe("Requested size, e.g. 10Gi; default: the snapshot's restoreSize."),
    accessModes: z
      .array(AccessModeSchema)
      .min(1)
      .optional()
      .describe("Access modes of the new claim; default: the source claim's."),
  })
  .describe('The new claim (NewVolume mode only).');

/**
 * `spec` of a RestoreRequest. Strict. Invariant after parsing: `mode` is set (default
 * `NewVolume`); `target` is present exactly when `mode` is `NewVolume`. A `Rollback` restores
 * onto the snapshot's own source claim, so a `target` there is an error rather than silently
 * ignored: a user who wrote one expected a new claim.
 */
export const RestoreRequestSpecSchema = z
  .strictObject({
    snapshotName: objectName('VolumeSnapshot to restore, in the request namespace.'),
    mode: RestoreModeSchema.default('NewVolume').describe(
      'NewVolume creates target.claimName from the snapshot; Rollback rolls the source claim back ' +
        '(only where the driver can, e.g. HwameiStor; its I/O must stop: see quiesce).',
    ),
    target: RestoreTargetSchema.optional(),
    quiesce: QuiesceSchema.default('None').describe(
      'Rollback only. ScaleDown scales the Deployments/StatefulSets whose pods mount the claim to ' +
        'zero, rolls back, and restores their replicas (also when the rollback fails); None ' +
        'refuses a rollback of a claim that a running pod mounts.',
    ),
  })
  .superRefine((spec, ctx) => {
    if (spec.mode === 'NewVolume' && spec.target === undefined)
      ctx.addIssue({ code: 'custom', path: ['target'], message: 'required for mode NewVolume' });
    if (spec.mode === 'Rollback' && spec.target !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message: "not allowed for mode Rollback (it restores onto the snapshot's source claim)",
      });
    if (spec.mode !== 'Rollback' && spec.quiesce !== 'None')
      ctx.addIssue({ code: 'custom', path: ['quiesce'], message: 'only for mode Rollback' });
  })
  .describe('Desired state of a RestoreRequest.');

/** `spec` of a SnapshotRequest after parsing (defaults applied). */
export type SnapshotRequestSpec = z.output<typeof SnapshotRequestSpecSchema>;
/** `spec` of a RestoreRequest after parsing (defaults applied). */
export type RestoreRequestSpec = z.output<typeof RestoreRequestSpecSchema>;
/** `NewVolume` | `Rollback`. */
export type RestoreMode = z.output<typeof RestoreModeSchema>;

/** Outcome of a spec parse: the value with defaults, or every offending field. */
export type SpecParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/**
 * Validates a SnapshotRequest `spec` and applies defaults. Never throws; field paths start
 * with `spec.` (e.g. `spec.claimNames`).
 */
export function parseSnapshotRequestSpec(input: unknown): SpecParseResult<SnapshotRequestSpec> {
  return parseSpec(SnapshotRequestSpecSchema, input);
}

/**
 * Validates a RestoreRequest `spec` and applies defaults. Never throws; field paths start with
 * `spec.` (e.g. `spec.target.claimName`).
 */
export function parseRestoreRequestSpec(input: unknown): SpecParseResult<RestoreRequestSpec> {
  return parseSpec(RestoreRequestSpecSchema, input);
}

function parseSpec<T>(schema: z.ZodType<T>, input: unknown): SpecParseResult<T> {
  try {
    const unsafe = unsafeKeyErrors(input, ['spec']);
    if (unsafe.length > 0) return { ok: false, errors: unsafe };
    const parsed = schema.safeParse(input, { reportInput: true });
    if (parsed.success) return { ok: true, value: parsed.data };
    const issues = parsed.error.issues.map((issue) => ({
      ...issue,
      path: ['spec', ...issue.path],
    }));
    return { ok: false, errors: fieldErrorsFromIssues(issues) };
  } catch (error) {
    // A throwing refinement must not take the caller down with it.
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, errors: [{ field: 'spec', message: `cannot validate: ${message}` }] };
  }
}

/**
 * `spec` of SnapshotRequest as an OpenAPI v3 structural schema (see `structuralOpenApiSchema`);
 * "selector or claimNames" is an `anyOf` of `required`.
 */
export function snapshotRequestSpecOpenApiSchema(): OpenApiSchema {
  const spec = structuralOpenApiSchema(SnapshotRequestSpecSchema);
  spec.anyOf = [{ required: ['selector'] }, { required: ['claimNames'] }];
  return spec;
}

/**
 * `spec` of RestoreRequest as an OpenAPI v3 structural schema; "target exactly for NewVolume"
 * is a CEL rule (after defaulting, `mode` is always set).
 */
export function restoreRequestSpecOpenApiSchema(): OpenApiSchema {
  const spec = structuralOpenApiSchema(RestoreRequestSpecSchema);
  spec['x-kubernetes-validations'] = [
    {
      rule: "self.mode == 'Rollback' ? !has(self.target) : has(self.target)",
      message: 'target is required for mode NewVolume and not allowed for mode Rollback',
      fieldPath: '.target',
    },
    {
      rule: "self.mode == 'Rollback' || self.quiesce == 'None'",
      message: 'quiesce is only for mode Rollback',
      fieldPath: '.quiesce',
    },
  ];
  return spec;
}
