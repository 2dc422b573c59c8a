import { Command } from 'commander';
import { parseSelector, type LabelSelector } from '#lib/policy';
import { ApiClient } from './api-client.js';
import { cliConnection } from './cli-config.js';
import { CliError, EXIT } from './exit-codes.js';
import { collect, durationMs, withCommon, type CommonOptions } from './options.js';
import { waitForFinal } from './wait.js';

interface SnapshotOptions extends CommonOptions {
  namespace: string;
  selector?: string;
  claim?: string[];
  reason?: string;
  ttl?: string;
  wait?: boolean;
  timeout: number;
  name?: string;
}

/** One claim of a request as the API reports it. */
interface ClaimStatus {
  claim: string;
  snapshotName?: string;
  readyToUse: boolean;
  state: string;
  error?: string;
}

/** A SnapshotRequest as the API reports it. */
export interface RequestStatus {
  namespace: string;
  name: string;
  phase: string;
  message?: string;
  timedOut?: boolean;
  snapshots: ClaimStatus[];
}

/** `snapwarden snapshot`: an on-demand snapshot of the selected claims, optionally waited for. */
export function snapshotCommand(): Command {
  return withCommon(new Command('snapshot'))
    .description('snapshot the selected claims now (a SnapshotRequest)')
    .requiredOption('-n, --namespace <namespace>', 'namespace of the claims')
    .option('-l, --selector <selector>', 'label selector, e.g. app.kubernetes.io/instance=shop')
    .option('--claim <name>', 'a claim by name (repeatable)', collect)
    .option('--reason <text>', 'why (kept in the request and the audit log)')
    .option('--ttl <duration>', 'keep the snapshots this long, e.g. 72h (0: until deleted)')
    .option('--name <name>', 'name of the request (default: generated)')
    .option('--wait', 'wait until every snapshot is ready or the request failed')
    .option('--timeout <duration>', 'fail the request after this long', durationMs, 600_000)
    .action(async (options: SnapshotOptions) => {
      process.exitCode = await runSnapshot(options);
    });
}

async function runSnapshot(options: SnapshotOptions): Promise<number> {
  const api = new ApiClient(cliConnection(options));
  const body = {
    metadata: { namespace: options.namespace, name: options.name },
    spec: {
      ...selection(options),
      reason: options.reason,
      ttl: options.ttl,
      timeoutSeconds: Math.max(1, Math.ceil(options.timeout / 1000)),
    },
  };
  const created = await api.post<RequestStatus>('/api/v1/snapshot-requests', body);
  const path = `/api/v1/snapshot-requests/${created.namespace}/${created.name}`;
  if (!options.wait) {
    print(options, created, `snapshot request ${created.namespace}/${created.name} created`);
    return EXIT.ok;
  }
  const seen = new Map<string, string>();
  const final = await waitForFinal(
    () => api.get<RequestStatus>(path),
    // The server fails the request at its timeout; allow its answer a moment to arrive.
    options.timeout + 2_000,
    (status) => {
      if (options.output === 'text') progress(status, seen);
    },
    `snapshot request ${created.name}`,
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

function report(options: SnapshotOptions, status: RequestStatus): number {
  const key = `${status.namespace}/${status.name}`;
  if (status.phase === 'Succeeded') {
    print(options, status, `snapshot request ${key} succeeded: ${status.message ?? ''}`);
    return EXIT.ok;
  }
  if (options.output === 'json') console.log(JSON.stringify(status, null, 2));
  const failed = status.snapshots.filter((s) => !s.readyToUse).map((s) => s.claim);
  console.error(
    `snapshot request ${key} failed${failed.length ? ` (claims: ${failed.join(', ')})` : ''}: ${status.message ?? ''}`,
  );
  return status.timedOut ? EXIT.timedOut : EXIT.failed;
}

function print(options: CommonOptions, value: unknown, text: string): void {
  console.log(options.output === 'json' ? JSON.stringify(value, null, 2) : text);
}
