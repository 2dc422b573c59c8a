import { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { cliConnection } from './cli-config.js';
import { CliError, EXIT } from './exit-codes.js';
import { collect, durationMs, withCommon, type CommonOptions } from './options.js';
import { waitForFinal } from './wait.js';

interface RestoreOptions extends CommonOptions {
  namespace: string;
  to?: string;
  rollback?: boolean;
  size?: string;
  storageClass?: string;
  accessMode?: string[];
  name?: string;
  wait?: boolean;
  timeout: number;
}

interface RestoreStatus {
  namespace: string;
  name: string;
  phase: string;
  message?: string;
  field?: string;
  claimName?: string;
}

/** `snapwarden restore SNAPSHOT`: into a new claim (`--to`), or onto its source (`--rollback`). */
export function restoreCommand(): Command {
  return withCommon(new Command('restore'))
    .description('restore a snapshot into a new claim, or roll its source claim back')
    .argument('<snapshot>', 'name of the snapshot')
    .requiredOption('-n, --namespace <namespace>', 'namespace of the snapshot')
    .option('--to <claim>', 'the new claim to create from the snapshot')
    .option('--rollback', "roll the snapshot's source claim back (only where the driver can)")
    .option('--size <quantity>', 'size of the new claim, e.g. 10Gi')
    .option('--storage-class <name>', 'storage class of the new claim')
    .option('--access-mode <mode>', 'access mode of the new claim (repeatable)', collect)
    .option('--name <name>', 'name of the restore (default: generated)')
    .option('--wait', 'wait until the restore has finished')
    .option('--timeout <duration>', 'how long --wait waits', durationMs, 600_000)
    .action(async (snapshot: string, options: RestoreOptions) => {
      process.exitCode = await runRestore(snapshot, options);
    });
}

async function runRestore(snapshot: string, options: RestoreOptions): Promise<number> {
  if (Boolean(options.rollback) === (options.to !== undefined)) {
    throw new CliError('give exactly one of --to CLAIM and --rollback', EXIT.usage);
  }
  const api = new ApiClient(cliConnection(options));
  const target = options.to
    ? {
        claimName: options.to,
        size: options.size,
        storageClassName: options.storageClass,
        accessModes: options.accessMode,
      }
    : undefined;
  const created = await api.post<RestoreStatus>('/api/v1/restores', {
    metadata: { namespace: options.namespace, name: options.name },
    spec: { snapshotName: snapshot, mode: options.rollback ? 'Rollback' : 'NewVolume', target },
  });
  const key = `${created.namespace}/${created.name}`;
  if (!options.wait) {
    print(options, created, `restore ${key} created`);
    return EXIT.ok;
  }
  let last = '';
  const final = await waitForFinal(
    () => api.get<RestoreStatus>(`/api/v1/restores/${key}`),
    options.timeout,
    (status) => {
      if (options.output === 'text' && status.phase !== last)
        console.log(`${key}: ${status.phase}`);
      last = status.phase;
    },
    `restore ${key}`,
  );
  if (final.phase === 'Succeeded') {
    print(options, final, `restore ${key} succeeded: ${final.message ?? ''}`);
    return EXIT.ok;
  }
  if (options.output === 'json') console.log(JSON.stringify(final, null, 2));
  console.error(
    `restore ${key} failed${final.field ? ` (${final.field})` : ''}: ${final.message ?? ''}`,
  );
  return EXIT.failed;
}

function print(options: CommonOptions, value: unknown, text: string): void {
  console.log(options.output === 'json' ? JSON.stringify(value, null, 2) : text);
}
