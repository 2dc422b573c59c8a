import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  isDns1123Label,
  isDns1123Subdomain,
  parseDuration,
  type SpecParseResult,
} from '#lib/policy';
import { stringify } from 'yaml';
import { CliError, EXIT } from './exit-codes.js';

/** Options every command that talks to the API accepts. */
export interface CommonOptions {
  server?: string;
  token?: string;
  output: OutputFormat;
}

/** `-o`: a human table or text, or the API's objects as JSON or YAML. */
export type OutputFormat = 'text' | 'json' | 'yaml';

/** Adds `--server`, `--token` and `--output` to a command. */
export function withCommon(command: Command): Command {
  return command
    .option('--server <url>', 'API address (default: $SNAPWARDEN_SERVER or http://localhost:8080)')
    .option('--token <token>', 'bearer token for writes (default: $SNAPWARDEN_API_TOKEN)')
    .option('-o, --output <format>', 'text, json or yaml', outputFormat, 'text');
}

/** Kube mode's flags (`snapshot` and `restore`). */
export interface KubeOptions {
  kube?: boolean;
  kubeconfig?: string;
  context?: string;
}

/** Adds `--kube`, `--kubeconfig` and `--context` to a command. */
export function withKube(command: Command): Command {
  return command
    .option(
      '--kube',
      'create the custom resource in the cluster instead of calling the API ' +
        '(kubeconfig: in-cluster service account, else $KUBECONFIG or ~/.kube/config)',
    )
    .option('--kubeconfig <path>', 'kubeconfig file for --kube (implies --kube)')
    .option('--context <name>', 'kubeconfig context for --kube (default: the current one)');
}

/** Where a request goes: `-n` and `--name`, checked before anything is sent. */
export function requestIdentity(options: { namespace: string; name?: string }): {
  namespace: string;
  name?: string;
} {
  if (!isDns1123Label(options.namespace)) {
    throw new CliError(
      `-n/--namespace ${JSON.stringify(options.namespace)}: metadata.namespace must be a DNS-1123 label`,
      EXIT.usage,
    );
  }
  if (options.name !== undefined && !isDns1123Subdomain(options.name)) {
    throw new CliError(
      `--name ${JSON.stringify(options.name)}: metadata.name must be a DNS-1123 subdomain ` +
        '(lower case letters, digits, "-" and ".")',
      EXIT.usage,
    );
  }
  return { namespace: options.namespace, name: options.name };
}

/** A spec that did not validate is a usage error naming its first bad field (`spec.ttl: …`). */
export function requireValid<T>(result: SpecParseResult<T>): void {
  if (result.ok) return;
  const first = result.errors[0];
  throw new CliError(`${first?.field ?? 'spec'}: ${first?.message ?? 'invalid'}`, EXIT.usage);
}

/** Prints `value` as JSON or YAML with `-o json|yaml`, else `text`. */
export function print(options: CommonOptions, value: unknown, text: string): void {
  if (!printStructured(options, value)) console.log(text);
}

/** With `-o json|yaml` prints `value` so and returns true; with `-o text` does nothing. */
export function printStructured(options: CommonOptions, value: unknown): boolean {
  if (options.output === 'json') console.log(JSON.stringify(value, null, 2));
  else if (options.output === 'yaml') process.stdout.write(stringify(value));
  else return false;
  return true;
}

function outputFormat(value: string): OutputFormat {
  if (value === 'text' || value === 'json' || value === 'yaml') return value;
  throw new InvalidArgumentError('must be text, json or yaml');
}

/** A duration flag (`10m`, `90s`, `1h`): milliseconds, or commander's bad-usage error. */
export function durationMs(value: string): number {
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new Error('must be positive');
    return ms;
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : 'not a duration');
  }
}

/** `--timeout <duration>`, in milliseconds; 10 minutes by default. */
export function timeoutOption(description: string): Option {
  return new Option('--timeout <duration>', `${description}, e.g. 90s or 10m`)
    .argParser(durationMs)
    .default(600_000, '10m');
}

/** Collects a repeatable flag's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
