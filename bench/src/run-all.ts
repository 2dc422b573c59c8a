/**
 * `npm run bench`: every scenario in one run, one child process each (so that one scenario's
 * heap, timers and Redis do not colour the next), their output passed through as it comes, then
 * a summary: every printed figure that has a target, grouped by scenario, the wall time of each
 * scenario and of the whole run (budget: 10 minutes), and the machine's load average at the
 * start and the end (figures taken on a busy machine are not comparable with quiet ones).
 *
 * BENCH_ONLY=scale,fleet runs a subset. Each scenario's own knobs are described in its header.
 * Exits non-zero when a scenario fails; a figure over its target is reported, not fatal.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Scenario {
  name: string;
  file: string;
  nodeArgs?: string[];
}

const SCENARIOS: Scenario[] = [
  { name: 'pipeline', file: 'pipeline.bench.js' },
  { name: 'archive', file: 'archive.bench.js' },
  { name: 'scale', file: 'scale.bench.js' },
  { name: 'selection', file: 'selection.bench.js', nodeArgs: ['--expose-gc'] },
  { name: 'fleet', file: 'fleet.bench.js' },
  { name: 'kube', file: 'kube.bench.js' },
  { name: 'cli-startup', file: 'cli-startup.bench.js' },
];

const BUDGET_S = 600;
const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * A printed line that states a figure against a target: "(target …)", "… the 1000 ms target",
 * or a verdict word ("ok", "OVER") as the archive table prints; "(target -)" and "(target n/a"
 * state none.
 */
function isTargetLine(line: string): boolean {
  return (
    /\btargets?\b|\bOVER\b|\bok\b/.test(line) && !/\(target (-|n\/a)/.test(line) && /\d/.test(line)
  );
}

function loads(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

async function runScenario(
  scenario: Scenario,
): Promise<{ seconds: number; code: number | null; lines: string[] }> {
  const started = performance.now();
  const child = spawn(process.execPath, [...(scenario.nodeArgs ?? []), join(HERE, scenario.file)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    process.stdout.write(chunk);
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (rest) lines.push(rest);
  return { seconds: (performance.now() - started) / 1000, code, lines };
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
  const chosen = only ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
  const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_ONLY: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})`,
    );
  }
  const loadStart = loads();
  const started = performance.now();
  const results: { scenario: Scenario; seconds: number; code: number | null; lines: string[] }[] =
    [];
  for (const scenario of chosen) {
    console.log(`\n===== ${scenario.name} =====`);
    results.push({ scenario, ...(await runScenario(scenario)) });
  }
  const total = (performance.now() - started) / 1000;

  console.log('\n===== summary: figures with targets =====');
  for (const { scenario, seconds, code, lines } of results) {
    const status = code === 0 ? '' : `  FAILED (exit ${String(code)})`;
    console.log(`\n${scenario.name} (${seconds.toFixed(0)} s)${status}`);
    for (const line of lines.filter(isTargetLine)) console.log(`  ${line.trim()}`);
  }
  console.log(
    `\nwhole run: ${(total / 60).toFixed(1)} min (budget ${BUDGET_S / 60} min); ` +
      `load average (1, 5, 15 min) at start ${loadStart}, at end ${loads()}`,
  );
  if (results.some((r) => r.code !== 0)) process.exitCode = 1;
}

await main();
