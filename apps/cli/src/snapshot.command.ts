import { Command } from 'commander';
import {
  parseSelector,
  parseSnapshotRequestSpec,
  withoutUndefined,
  type LabelSelector,
} from '#lib/policy';
import { type Observed, type RequestStatus } from './backend.js';
import { CliError, EXIT } from './exit-codes.js';
import {
  collect,
  print,
  requestIdentity,
  requireValid,
  timeoutOption,
  withCommon,
  withKube,
  type CommonOptions,
  type KubeOptions,
  printStructured,
} from './options.js';
import { selectBackend } from './select-backend.js';
import { waitForFinal } from './wait.js';

export type { RequestStatus } from './backend.js';

interface SnapshotOptions extends CommonOptions, KubeOptions {
  namespace: string;
  selector?: string;
  claim?: string[];
  reason?: string;
  ttl?: string;
  wait?: boolean;
  timeout: number;
  name?: string;
}

/** The server fails the request at its timeout; allow its answer a moment to arrive. */
const ANSWER_GRACE_MS = 2_000;

/** `snapwarden snapshot`: an on-demand snapshot of the selected claims, optionally waited for. */
export function snapshotCommand(): Command {
  return withKube(withCommon(new Command('snapshot')))
    .description(
      'snapshot the selected claims now (a SnapshotRequest: through the API, or with --kube ' +
        'as a custom resource in the cluster)',
    )
    .requiredOption('-n, --namespace <namespace>', 'namespace of the claims')
    .option('-l, --selector <selector>', 'label selector, e.g. app.kubernetes.io/instance=shop')
    .option('--claim <name>', 'a claim by name (repeatable)', collect)
    .option('--reason <text>', 'why (kept in the request and the audit log)')
    .option('--ttl <duration>', 'keep the snapshots this long, e.g. 72h (0: until deleted)')
    .option('--name <name>', 'name of the request (default: generated, snapreq-<8 hex>)')
    .option('--wait', 'wait until every snapshot is ready or the request failed')
    .addOption(timeoutOption('fail the request after this long (spec.timeoutSeconds)'))
    .addHelpText(
      'after',
      '\nExit codes: 0 succeeded (or created, without --wait), 1 failed (the claims are named),\n' +
        '2 bad usage or input (nothing is created), 3 timed out.',
    )
    .action(async (options: SnapshotOptions) => {
      process.exitCode = await runSnapshot(options);
    });
}

async function runSnapshot(options: SnapshotOptions): Promise<number> {
  const backend = await selectBackend<Record<string, unknown>, RequestStatus>(
    options,
    '/api/v1/snapshot-requests',
    'snapshot',
  );
  const { namespace, name } = requestIdentity(options);
  const spec = withoutUndefined({
    ...selection(options),
    reason: options.reason,
    ttl: options.ttl,
    timeoutSeconds: Math.max(1, Math.ceil(options.timeout / 1000)),
  });
  requireValid(parseSnapshotRequestSpec(spec));
  const created = await backend.create(namespace, name, spec);
  const key = `${created.status.namespace}/${created.status.name}`;
  if (!options.wait) {
    print(options, created.json, `snapshot request ${key} created`);
    return EXIT.ok;
  }
  const seen = new Map<string, string>();
  const final = await waitForFinal(
    () => backend.get(created.status.namespace, created.status.name),
    {
      phase: (o) => o.status.phase,
      timeoutMs: options.timeout + ANSWER_GRACE_MS,
      onRead: (o) => {
        if (options.output === 'text') progress(o.status, seen);
      },
      what: `snapshot request ${key}`,
    },
  );
  return report(options, final);
}

function selection(options: SnapshotOptions): { selector?: LabelSelector; claimNames?: string[] } {
  if ((options.selector === undefined) === (options.claim === undefined)) {
    throw new CliError('give exactly one of -l/--selector and --claim', EXIT.usage);
  }
  if (options.claim) return { claimNames: options.claim };
  try {
    return { selector: parseSelector(options.selector ?? '') };
  } catch (error) {
    throw new CliError(`-l/--selector: ${(error as Error).message}`, EXIT.usage);
  }
}

/** Prints a line per claim whenever what it shows changes. */
function progress(status: RequestStatus, seen: Map<string, string>): void {
  for (const claim of status.snapshots) {
    const line = claim.readyToUse
      ? `${claim.claim}: ready (${claim.snapshotName ?? ''})`
      : claim.state === 'failed'
        ? `${claim.claim}: failed: ${claim.error ?? 'unknown error'}`
        : `${claim.claim}: ${claim.state}`;
    if (seen.get(claim.claim) !== line) console.log(line);
    seen.set(claim.claim, line);
  }
}

function report(options: SnapshotOptions, final: Observed<RequestStatus>): number {
  const { status } = final;
  const key = `${status.namespace}/${status.name}`;
  if (status.phase === 'Succeeded') {
    print(options, final.json, `snapshot request ${key} succeeded: ${status.message ?? ''}`);
    return EXIT.ok;
  }
  printStructured(options, final.json);
  const failed = status.snapshots.filter((s) => s.state === 'failed');
  // The failed claims; for a timeout (nothing failed) the ones not ready.
  const named = (failed.length > 0 ? failed : status.snapshots.filter((s) => !s.readyToUse)).map(
    (s) => s.claim,
  );
  console.error(
    `snapshot request ${key} ${status.timedOut ? 'timed out' : 'failed'}` +
      `${named.length ? ` (claims: ${named.join(', ')})` : ''}: ${status.message ?? ''}`,
  );
  return status.timedOut ? EXIT.timedOut : EXIT.failed;
}
