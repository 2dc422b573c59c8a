import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '#lib/policy';

/** Options every command that talks to the API accepts. */
export interface CommonOptions {
  server?: string;
  token?: string;
  output: 'text' | 'json';
}

/** Adds `--server`, `--token` and `--output` to a command. */
export function withCommon(command: Command): Command {
  return command
    .option('--server <url>', 'API address (default: $SNAPWARDEN_SERVER or http://localhost:8080)')
    .option('--token <token>', 'bearer token for writes (default: $SNAPWARDEN_API_TOKEN)')
    .option('-o, --output <format>', 'text or json', outputFormat, 'text');
}

function outputFormat(value: string): 'text' | 'json' {
  if (value === 'text' || value === 'json') return value;
  throw new InvalidArgumentError('must be text or json');
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

/** Collects a repeatable flag's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
