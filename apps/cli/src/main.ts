#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './exit-codes.js';
import { getCommand, policiesCommand, runsCommand } from './list.commands.js';
import { previewCommand } from './preview.command.js';
import { restoreCommand } from './restore.command.js';
import { snapshotCommand } from './snapshot.command.js';

/**
 * `snapwarden`: the command line for people and hook Jobs. Exit codes: 0 success, 1 the
 * operation failed, 2 bad usage or input (commander's own errors included), 3 timed out.
 */
export function buildProgram(): Command {
  const program = new Command('snapwarden')
    .description('on-demand snapshots, restores and history of snapwarden')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  for (const command of [
    snapshotCommand(),
    restoreCommand(),
    policiesCommand(),
    runsCommand(),
    getCommand(),
    previewCommand(),
  ]) {
    program.addCommand(command.exitOverride());
  }
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end in "errors" too; those are successes.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      console.error(`snapwarden: ${error.message}`);
      return error.code;
    }
    console.error(`snapwarden: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
}

process.exitCode = await main(process.argv);
