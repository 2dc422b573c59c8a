import { z } from 'zod';
import { isDns1123Label } from './k8s-syntax.js';
import type { HooksSchema } from './policy.schema.js';

/*
 * `spec.hooks` of BackupPolicy and SnapshotRequest: one schema for both (and for their CRDs).
 * Built from the label selector schema by policy.schema.ts (which exports `HooksSchema`), so
 * that the two modules do not import each other's values.
 */

/** Default of `timeoutSeconds` of a hook. */
export const HOOK_DEFAULT_TIMEOUT_SECONDS = 30;
/** Upper bound of `timeoutSeconds`: a hook runs inside the volume's lock. */
export const HOOK_MAX_TIMEOUT_SECONDS = 3600;

/** What a failing hook does to its snapshot. */
export const HookOnErrorSchema = z.enum(['Fail', 'Continue']);

/** `spec.hooks` with `podSelector` of the given label selector schema. */
export function hooksSchemaWith<S extends z.ZodType>(labelSelector: S) {
  const hook = z
    .strictObject({
      name: z
        .string()
        .refine(isDns1123Label, { message: 'must be a DNS-1123 label (shown in audit events)' })
        .describe('Name of the hook, shown in audit events.'),
      command: z
        .array(z.string())
        .min(1)
        .describe(
          'The command as argv, run without a shell (write ["sh", "-c", "..."] for one). Kubernetes ' +
            'mode: executed in a container of each pod that mounts the claim; local mode: on the host.',
        ),
      container: z
        .string()
        .min(1)
        .optional()
        .describe("Container to exec in (kubernetes mode); default: the pod's only container."),
      podSelector: labelSelector
        .optional()
        .describe(
          "Pods to exec in, in the claim's namespace (kubernetes mode); default: the running pods " +
            'that mount the claim.',
        ),
      timeoutSeconds: z
        .number()
        .int()
        .min(1)
        .max(HOOK_MAX_TIMEOUT_SECONDS)
        .default(HOOK_DEFAULT_TIMEOUT_SECONDS)
        .describe(
          'The hook is killed (local: its process group; kubernetes: its exec stream) after this.',
        ),
      onError: HookOnErrorSchema.default('Fail').describe(
        'Fail: a failing pre hook means no snapshot and a failed volume; Continue: the failure is ' +
          'recorded and the snapshot is taken.',
      ),
    })
    .describe('A command run around a snapshot.');
  return z
    .strictObject({
      pre: z
        .array(hook)
        .optional()
        .describe('Run in order before the snapshot, inside the volume lock.'),
      post: z
        .array(hook)
        .optional()
        .describe(
          'Run in order once the snapshot is taken or has failed, whenever the pre hooks ran.',
        ),
    })
    .superRefine((hooks, ctx) => {
      for (const phase of ['pre', 'post'] as const) {
        const seen = new Set<string>();
        (hooks[phase] ?? []).forEach((hook, index) => {
          if (seen.has(hook.name))
            ctx.addIssue({
              code: 'custom',
              path: [phase, index, 'name'],
              message: `duplicate hook name "${hook.name}"`,
            });
          seen.add(hook.name);
        });
      }
    })
    .describe('Application-consistency hooks around each snapshot.');
}

/** `spec.hooks` after parsing. */
export type Hooks = z.output<typeof HooksSchema>;
/** One hook after parsing (defaults applied). */
export type Hook = NonNullable<Hooks['pre']>[number];
/** `Fail` | `Continue`. */
export type HookOnError = z.output<typeof HookOnErrorSchema>;

/** `None` | `ScaleDown`: what a Rollback does to the workloads that mount the claim. */
export const QuiesceSchema = z.enum(['None', 'ScaleDown']);
/** `spec.quiesce` of a RestoreRequest. */
export type Quiesce = z.output<typeof QuiesceSchema>;
