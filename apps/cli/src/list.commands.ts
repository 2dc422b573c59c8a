import { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { cliConnection } from './cli-config.js';
import { withCommon, type CommonOptions } from './options.js';

interface PolicyItem {
  key: string;
  spec: { schedule: string; timeZone: string; suspend?: boolean };
  nextRunTime?: string;
}

interface RunItem {
  id: string;
  kind: string;
  policy?: string;
  state: string;
  scheduledAt: string;
  counts: { succeeded: number; failed: number; skipped: number; total: number };
}

/** `snapwarden policies`: the policies in force with their next run. */
export function policiesCommand(): Command {
  return withCommon(new Command('policies'))
    .description('list the policies in force')
    .action(async (options: CommonOptions) => {
      const body = await new ApiClient(cliConnection(options)).get<{ items: PolicyItem[] }>(
        '/api/v1/policies',
      );
      if (options.output === 'json') return console.log(JSON.stringify(body, null, 2));
      table(
        ['POLICY', 'SCHEDULE', 'TIME ZONE', 'SUSPEND', 'NEXT'],
        body.items.map((p) => [
          p.key,
          p.spec.schedule,
          p.spec.timeZone,
          String(p.spec.suspend ?? false),
          p.nextRunTime ?? '-',
        ]),
      );
    });
}

interface RunsOptions extends CommonOptions {
  policy?: string;
  volume?: string;
  kind?: string;
  state?: string;
  limit: string;
}

/** `snapwarden runs`: the job history, newest first. */
export function runsCommand(): Command {
  return withCommon(new Command('runs'))
    .description('list runs (job history), newest first')
    .option('--policy <namespace/name>', 'only runs of this policy')
    .option('--volume <name>', 'only runs touching this volume')
    .option('--kind <kind>', 'scheduled, on-demand, restore or cleanup')
    .option('--state <state>', 'running, succeeded, failed, partial, missed, skipped')
    .option('--limit <n>', 'how many', '20')
    .action(async (options: RunsOptions) => {
      const query = new URLSearchParams({ limit: options.limit });
      for (const key of ['policy', 'volume', 'kind', 'state'] as const) {
        const value = options[key];
        if (value !== undefined) query.set(key, value);
      }
      const body = await new ApiClient(cliConnection(options)).get<{ items: RunItem[] }>(
        `/api/v1/runs?${query.toString()}`,
      );
      if (options.output === 'json') return console.log(JSON.stringify(body, null, 2));
      table(
        ['RUN', 'KIND', 'POLICY', 'STATE', 'AT', 'OK/FAILED/SKIPPED'],
        body.items.map((r) => [
          r.id,
          r.kind,
          r.policy ?? '-',
          r.state,
          r.scheduledAt,
          `${r.counts.succeeded}/${r.counts.failed}/${r.counts.skipped}`,
        ]),
      );
    });
}

/** Prints rows as aligned columns. */
export function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) {
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  }
}
