import { backupPolicySpecOpenApiSchema, type OpenApiSchema } from './json-schema.js';
import { API_VERSION, BACKUP_POLICY_KIND } from './policy.schema.js';
import {
  RESTORE_REQUEST_KIND,
  SNAPSHOT_REQUEST_KIND,
  restoreRequestSpecOpenApiSchema,
  snapshotRequestSpecOpenApiSchema,
} from './requests.schema.js';

/*
 * The CustomResourceDefinitions of snapwarden, built from the zod spec schemas (one source of
 * truth) plus hand-written status schemas that follow PRODUCT.md. `tools/generate-crds.ts`
 * writes them to deploy/; a unit test keeps the committed files equal to this output.
 */

/** API group of every snapwarden resource. */
export const API_GROUP = API_VERSION.split('/')[0] ?? 'snapwarden.io';
/** The one served and stored version. */
export const API_GROUP_VERSION = API_VERSION.split('/')[1] ?? 'v1alpha1';

const str = (description: string): OpenApiSchema => ({ type: 'string', description });
const time = (description: string): OpenApiSchema => ({
  type: 'string',
  format: 'date-time',
  description,
});
const int = (description: string): OpenApiSchema => ({
  type: 'integer',
  format: 'int64',
  minimum: 0,
  description,
});
const obj = (
  description: string,
  properties: Record<string, OpenApiSchema>,
  required?: string[],
): OpenApiSchema => ({
  type: 'object',
  description,
  properties,
  ...(required === undefined ? {} : { required }),
});

/** metav1.Condition, keyed by type. */
const conditions = (types: string): OpenApiSchema => ({
  type: 'array',
  description: `Current state, one entry per type (${types}).`,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  items: obj(
    'One aspect of the current state.',
    {
      type: str('Condition type, e.g. Ready.'),
      status: {
        type: 'string',
        enum: ['True', 'False', 'Unknown'],
        description: 'True, False or Unknown.',
      },
      reason: str('Machine-readable reason in CamelCase.'),
      message: str('Human-readable details; names the offending field for an invalid spec.'),
      lastTransitionTime: time('When status last changed.'),
      observedGeneration: int('metadata.generation the condition was computed for.'),
    },
    ['type', 'status'],
  ),
});

const observedGeneration = int('metadata.generation of the spec this status reflects.');

const phase = (values: string[]): OpenApiSchema => ({
  type: 'string',
  enum: values,
  description: `Lifecycle phase: ${values.join(', ')}.`,
});

function backupPolicyStatus(): OpenApiSchema {
  const count = (what: string) => int(`Volumes that ${what}.`);
  return obj('Observed state of a BackupPolicy, written by the scheduler.', {
    observedGeneration,
    conditions: conditions('Ready, Scheduled, VolumesSelected'),
    nextRunTime: time('Next scheduled run (jitter included).'),
    lastRunTime: time('Nominal time of the last run.'),
    lastSuccessTime: time('Nominal time of the last run in which every volume succeeded.'),
    lastRun: obj('Result of the last run.', {
      id: str('Run id, as in GET /api/v1/runs/{id}.'),
      result: str('Outcome: Running, Succeeded, PartiallyFailed, Failed, Missed or Skipped.'),
      volumes: obj('Volume counts of the run.', {
        total: count('the run selected'),
        succeeded: count('got a ready snapshot'),
        failed: count('failed'),
        skipped: count('were skipped (e.g. concurrencyPolicy Forbid)'),
      }),
    }),
    missedRuns: int('Runs recorded as missed (started past startingDeadlineSeconds).'),
  });
}

function snapshotRequestStatus(): OpenApiSchema {
  return obj('Observed state of a SnapshotRequest.', {
    observedGeneration,
    phase: phase(['Pending', 'Running', 'Succeeded', 'Failed']),
    snapshots: {
      type: 'array',
      description: 'One entry per selected claim.',
      items: obj(
        'The snapshot of one claim.',
        {
          claim: str('Claim name.'),
          snapshotName: str('VolumeSnapshot name.'),
          readyToUse: { type: 'boolean', description: 'The snapshot is ready.' },
          state: {
            type: 'string',
            enum: ['pending', 'running', 'succeeded', 'failed', 'skipped'],
            description: 'Progress of this claim.',
          },
          error: str('Why the snapshot failed, if it did.'),
        },
        ['claim'],
      ),
    },
    startTime: time('When work on the request started.'),
    completionTime: time('When the request succeeded or failed.'),
    expiryTime: time('When the snapshots expire (spec.ttl after creation); absent for ttl 0.'),
    runId: str('Job history entry of the request, as in GET /api/v1/runs/{id}.'),
    field: str('For a request refused as invalid: the first invalid field; the message names all.'),
    message: str('Human-readable summary.'),
    conditions: conditions('Ready'),
  });
}

function restoreRequestStatus(): OpenApiSchema {
  return obj('Observed state of a RestoreRequest.', {
    observedGeneration,
    phase: phase(['Pending', 'Running', 'Succeeded', 'Failed']),
    claimName: str('Claim that holds the restored data.'),
    quiesce: str(
      'For a rollback with quiesce ScaleDown: its step (ScaledDown, Drained, RollingBack, ' +
        'Restored, RestoreFailed) and the workloads with their recorded replicas.',
    ),
    field: str('For a failed restore: the field whose rule is broken, e.g. spec.target.size.'),
    message: str('Human-readable summary; names the broken restore rule on failure.'),
    startTime: time('When work on the request started.'),
    completionTime: time('When the request succeeded or failed.'),
    conditions: conditions('Ready'),
  });
}

interface Column {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
}

interface CrdInput {
  kind: string;
  plural: string;
  shortNames: string[];
  spec: OpenApiSchema;
  status: OpenApiSchema;
  columns: Column[];
}

const AGE: Column = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

function crd(input: CrdInput): object {
  const { kind, plural, shortNames, spec, status, columns } = input;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${API_GROUP}`,
      labels: { 'app.kubernetes.io/name': 'snapwarden', 'app.kubernetes.io/part-of': 'snapwarden' },
    },
    spec: {
      group: API_GROUP,
      scope: 'Namespaced',
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        shortNames,
        categories: ['snapwarden'],
      },
      versions: [
        {
          name: API_GROUP_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `${kind} of snapwarden (${API_VERSION}).`,
              required: ['spec'],
              properties: {
                apiVersion: str('APIVersion of this object.'),
                kind: str('Kind of this object.'),
                metadata: { type: 'object' },
                spec,
                status,
              },
            },
          },
        },
      ],
    },
  };
}

const phaseColumn: Column = { name: 'Phase', type: 'string', jsonPath: '.status.phase' };

/**
 * The three `apiextensions.k8s.io/v1` CustomResourceDefinitions: BackupPolicy,
 * SnapshotRequest and RestoreRequest (group `snapwarden.io`, version `v1alpha1`, namespaced,
 * status subresource, short names and printer columns per PRODUCT.md).
 *
 * Invariants: every `spec` schema is generated from its zod schema, so a field added there
 * reaches the CRD; the schemas are structural (typed nodes, no `$ref`, no
 * `additionalProperties` beside `properties`). CEL rules stay cheap: no whole-object
 * `self == oldSelf` (the API server's cost estimate for equality over unbounded lists, such as a
 * selector's, would reject the CRD), so request specs are not immutable at the schema level.
 * Returns fresh objects on every call.
 */
export function buildCrds(): object[] {
  return [
    crd({
      kind: BACKUP_POLICY_KIND,
      plural: 'backuppolicies',
      shortNames: ['bp'],
      spec: backupPolicySpecOpenApiSchema(),
      status: backupPolicyStatus(),
      columns: [
        { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
        { name: 'TimeZone', type: 'string', jsonPath: '.spec.timeZone' },
        { name: 'Suspend', type: 'boolean', jsonPath: '.spec.suspend' },
        { name: 'LastSuccess', type: 'date', jsonPath: '.status.lastSuccessTime' },
        // A string, not a date: the API server renders a future date column as "<invalid>".
        { name: 'Next', type: 'string', jsonPath: '.status.nextRunTime' },
        {
          name: 'Ready',
          type: 'string',
          jsonPath: '.status.conditions[?(@.type=="Ready")].status',
        },
        AGE,
      ],
    }),
    crd({
      kind: SNAPSHOT_REQUEST_KIND,
      plural: 'snapshotrequests',
      shortNames: ['snapreq'],
      spec: snapshotRequestSpecOpenApiSchema(),
      status: snapshotRequestStatus(),
      columns: [phaseColumn, { name: 'Reason', type: 'string', jsonPath: '.spec.reason' }, AGE],
    }),
    crd({
      kind: RESTORE_REQUEST_KIND,
      plural: 'restorerequests',
      shortNames: ['restorereq'],
      spec: restoreRequestSpecOpenApiSchema(),
      status: restoreRequestStatus(),
      columns: [
        { name: 'Snapshot', type: 'string', jsonPath: '.spec.snapshotName' },
        { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
        phaseColumn,
        { name: 'Claim', type: 'string', jsonPath: '.status.claimName' },
        AGE,
      ],
    }),
  ];
}
