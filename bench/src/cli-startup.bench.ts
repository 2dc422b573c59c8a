/**
 * `node dist/bench/src/cli-startup.bench.js`: wall-clock time from spawning `snapwarden` to its
 * exit, for `--help` and for `runs --help` (API mode: the Kubernetes client is not loaded),
 * against a bare `node -e 0`. Prints the median and worst of several runs; the target is
 * `snapwarden --help` under 1 s.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envNumber } from './bench-support.js';

const CLI = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'apps',
  'cli',
  'src',
  'main.js',
);
const ROUNDS = envNumber('BENCH_CLI_ROUNDS', 7);
const TARGET_MS = 1_000;

function timeOnce(args: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${String(result.status)}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function measure(label: string, args: string[]): number {
  const times = Array.from({ length: ROUNDS }, () => timeOnce(args)).sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? 0;
  const worst = times.at(-1) ?? 0;
  console.log(`${label.padEnd(28)} median ${median.toFixed(0)} ms, worst ${worst.toFixed(0)} ms`);
  return median;
}

measure('node -e 0 (baseline)', ['-e', '0']);
const help = measure('snapwarden --help', [CLI, '--help']);
measure('snapwarden runs --help', [CLI, 'runs', '--help']);
measure('snapwarden snapshot --help', [CLI, 'snapshot', '--help']);
console.log(
  `snapwarden --help: ${help.toFixed(0)} ms median, ${help < TARGET_MS ? 'under' : 'OVER'} the ${TARGET_MS} ms target`,
);
