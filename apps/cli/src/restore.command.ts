import { Command } from 'commander';
import { parseRestoreRequestSpec, withoutUndefined } from '#lib/policy';
import { type Observed, type RestoreStatus } from './backend.js';
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

interface RestoreOptions extends CommonOptions, KubeOptions {
  namespace: string;
  to?: string;
  rollback?: boolean;
  quiesce?: string;
  size?: string;
  storageClass?: string;
  accessMode?: string[];
  name?: string;
  wait?: boolean;
  timeout: number;
}

/** `snapwarden restore SNAPSHOT`: into a new claim (`--to`), or onto its source (`--rollback`). */
export function restoreCommand(): Command {
  return withKube(withCommon(new Command('restore')))
    .description(
      'restore a snapshot into a new claim, or roll its source claim back (a RestoreRequest: ' +
        'through the API, or with --kube as a custom resource in the cluster)',
    )
    .argument('<snapshot>', 'name of the snapshot')
    .requiredOption('-n, --namespace <namespace>', 'namespace of the snapshot')
    .option('--to <claim>', 'the new claim to create from the snapshot')
    .option('--rollback', "roll the snapshot's source claim back (only where the driver can)")
    .option(
      '--quiesce <mode>',
      'with --rollback: ScaleDown scales the workloads mounting the claim to 0 and back (or None)',
    )
    .option('--size <quantity>', 'size of the new claim, e.g. 10Gi')
    .option('--storage-class <name>', 'storage class of the new claim')
    .option('--access-mode <mode>', 'access mode of the new claim (repeatable)', collect)
    .option('--name <name>', 'name of the restore (default: generated, restore-<8 hex>)')
    .option('--wait', 'wait until the restore has finished')
    .addOption(timeoutOption('how long --wait waits'))
    .addHelpText(
      'after',
      '\nExit codes: 0 succeeded (or created, without --wait), 1 failed (the broken rule is named),\n' +
        '2 bad usage or input (nothing is created), 3 timed out.',
    )
    .action(async (snapshot: string, options: RestoreOptions) => {
      process.exitCode = await runRestore(snapshot, options);
    });
}

async function runRestore(snapshot: string, options: RestoreOptions): Promise<number> {
  const backend = await selectBackend<Record<string, unknown>, RestoreStatus>(
    options,
    '/api/v1/restores',
    'restore',
  );
  const { namespace, name } = requestIdentity(options);
  const spec = restoreSpec(snapshot, options);
  const created = await backend.create(namespace, name, spec);
  const key = `${created.status.namespace}/${created.status.name}`;
  if (!options.wait) {
    print(options, created.json, `restore ${key} created`);
    return EXIT.ok;
  }
  let last = '';
  const final = await waitForFinal(
    () => backend.get(created.status.namespace, created.status.name),
    {
      phase: (o) => o.status.phase,
      timeoutMs: options.timeout,
      onRead: ({ status }) => {
        if (options.output === 'text' && status.phase !== last)
          console.log(`${key}: ${status.phase}`);
        last = status.phase;
      },
      what: `restore ${key}`,
    },
  );
  return report(options, final);
}

/** The RestoreRequest spec the flags describe, validated as the server would. */
function restoreSpec(snapshot: string, options: RestoreOptions): Record<string, unknown> {
  if (Boolean(options.rollback) === (options.to !== undefined)) {
    throw new CliError('give exactly one of --to CLAIM and --rollback', EXIT.usage);
  }
  const target =
    options.to === undefined
      ? undefined
      : withoutUndefined({
          claimName: options.to,
          size: options.size,
          storageClassName: options.storageClass,
          accessModes: options.accessMode,
        });
  if (target === undefined) {
    const stray = [
      ['--size', options.size],
      ['--storage-class', options.storageClass],
      ['--access-mode', options.accessMode],
    ].find(([, value]) => value !== undefined);
    if (stray) {
      throw new CliError(`${String(stray[0])} describes the new claim: only with --to`, EXIT.usage);
    }
  }
  const spec = withoutUndefined({
    snapshotName: snapshot,
    mode: options.rollback ? 'Rollback' : 'NewVolume',
    target,
    quiesce: options.quiesce,
  });
  requireValid(parseRestoreRequestSpec(spec));
  return spec;
}

function report(options: CommonOptions, final: Observed<RestoreStatus>): number {
  const { status } = final;
  const key = `${status.namespace}/${status.name}`;
  if (status.phase === 'Succeeded') {
    print(options, final.json, `restore ${key} succeeded: ${status.message ?? ''}`);
    return EXIT.ok;
  }
  printStructured(options, final.json);
  console.error(
    `restore ${key} failed${status.field ? ` (${status.field})` : ''}: ${status.message ?? ''}`,
  );
  return EXIT.failed;
}
