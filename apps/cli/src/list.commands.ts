import { Command, InvalidArgumentError } from 'commander';
import { DateTime } from 'luxon';
import { parseDuration } from '#lib/policy';
import { ApiClient } from './api-client.js';
import { cliConnection } from './cli-config.js';
import { CliError, EXIT } from './exit-codes.js';
import { printStructured, withCommon, type CommonOptions } from './options.js';

interface PolicyItem {
  key: string;
  spec: { schedule: string; timeZone: string; suspend?: boolean };
  nextRunTime?: string;
  lastRun?: { state: string; scheduledAt: string };
}

interface PolicyProblem {
  source: string;
  key?: string;
  errors: { field: string; message: string }[];
  seenAt: string;
  since?: string;
}

interface RunItem {
  id: string;
  kind: string;
  policy?: string;
  state: string;
  scheduledAt: string;
  counts: { succeeded: number; failed: number; skipped: number; total: number };
}

interface VolumeItem {
  namespace: string;
  name: string;
  snapshots: number;
  cap: number;
  lastReadyTime?: string;
  policies?: string[];
}

interface SnapshotItem {
  namespace: string;
  name: string;
  volumeName: string;
  state: string;
  readyToUse: boolean;
  restoreSizeBytes?: number;
  createdAt: string;
  expiresAt?: string;
  origin?: { kind: string; policy?: string; request?: string };
}

interface ListOptions extends CommonOptions {
  namespace?: string;
}

interface RunsOptions extends ListOptions {
  policy?: string;
  volume?: string;
  kind?: string;
  state?: string;
  since?: string;
  limit: string;
}

const client = (options: CommonOptions) => new ApiClient(cliConnection(options));

/** `snapwarden policies`: the policies in force, then the policy files that are not. */
async function listPolicies(options: ListOptions): Promise<void> {
  const body = await client(options).get<{ items: PolicyItem[]; problems?: PolicyProblem[] }>(
    '/api/v1/policies',
  );
  if (printStructured(options, body)) return;
  table(
    ['POLICY', 'SCHEDULE', 'TIME ZONE', 'SUSPEND', 'NEXT', 'LAST'],
    body.items.map((p) => [
      p.key,
      p.spec.schedule,
      p.spec.timeZone,
      String(p.spec.suspend ?? false),
      inZone(p.nextRunTime, p.spec.timeZone),
      p.lastRun ? `${p.lastRun.state} ${inZone(p.lastRun.scheduledAt, p.spec.timeZone)}` : '-',
    ]),
  );
  const problems = body.problems ?? [];
  if (problems.length === 0) return;
  console.log(`\nINVALID POLICY FILES (${problems.length}, not in force):`);
  table(
    ['FILE', 'FIELD', 'MESSAGE', 'SINCE'],
    problems.flatMap((p) =>
      p.errors.map((e) => [
        p.source.replace(/^file:/, ''),
        e.field,
        e.message,
        p.since ?? p.seenAt,
      ]),
    ),
  );
}

/** An ISO time in `zone` with its offset (`2026-12-03T02:00:00+01:00`), or `-`. */
function inZone(iso: string | undefined, zone: string): string {
  if (!iso) return '-';
  const time = DateTime.fromISO(iso, { zone });
  return time.isValid ? (time.toISO({ suppressMilliseconds: true }) ?? iso) : iso;
}

/** Bytes as kubectl prints quantities: `512`, `294Ki`, `1.2Gi`. */
function quantity(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 || value >= 10 ? Math.round(value) : value.toFixed(1)}${units[unit]}`;
}

/** `--since`: a duration back from now (`1h`, `30m`) or a date-time, as ISO. */
export function sinceOption(value: string): string {
  const now = Date.now();
  if (/^\d+(ms|s|m|h|d|w)$/.test(value)) {
    try {
      return new Date(now - parseDuration(value)).toISOString();
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError('must be a duration (90s, 30m, 1h, 7d) or a date-time');
  }
  return date.toISOString();
}

async function listRuns(options: RunsOptions): Promise<void> {
  const query = new URLSearchParams({ limit: options.limit });
  for (const key of ['policy', 'volume', 'kind', 'state', 'since', 'namespace'] as const) {
    const value = options[key];
    if (value !== undefined) query.set(key, value);
  }
  const body = await client(options).get<{ items: RunItem[] }>(`/api/v1/runs?${query.toString()}`);
  if (printStructured(options, body)) return;
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
}

function namespaced(path: string, options: ListOptions): string {
  return options.namespace ? `${path}?namespace=${encodeURIComponent(options.namespace)}` : path;
}

async function listVolumes(options: ListOptions): Promise<void> {
  const body = await client(options).get<{ items: VolumeItem[] }>(
    namespaced('/api/v1/volumes', options),
  );
  if (printStructured(options, body)) return;
  table(
    ['NAMESPACE', 'NAME', 'SNAPSHOTS', 'CAP', 'LAST READY', 'POLICIES'],
    body.items.map((v) => [
      v.namespace,
      v.name,
      String(v.snapshots),
      String(v.cap),
      v.lastReadyTime ?? '-',
      (v.policies ?? []).join(',') || '<none: unprotected>',
    ]),
  );
}

function origin(s: SnapshotItem): string {
  if (s.origin?.kind === 'policy') return `policy/${s.origin.policy?.split('/')[1] ?? ''}`;
  if (s.origin?.kind === 'on-demand') return `request/${s.origin.request ?? ''}`;
  return '-';
}

async function listSnapshots(options: ListOptions): Promise<void> {
  const body = await client(options).get<{ items: SnapshotItem[] }>(
    namespaced('/api/v1/snapshots', options),
  );
  if (printStructured(options, body)) return;
  table(
    ['NAMESPACE', 'NAME', 'VOLUME', 'STATE', 'SIZE', 'ORIGIN', 'CREATED', 'EXPIRES'],
    body.items.map((s) => [
      s.namespace,
      s.name,
      s.volumeName,
      s.readyToUse ? 'Ready' : s.state,
      quantity(s.restoreSizeBytes),
      origin(s),
      s.createdAt,
      s.expiresAt ?? '-',
    ]),
  );
}

function withRunFilters(command: Command): Command {
  return command
    .option('--policy <namespace/name>', 'only runs of this policy')
    .option('--volume <name>', 'only runs touching this volume')
    .option('--kind <kind>', 'scheduled, on-demand, restore or cleanup')
    .option('--state <state>', 'running, succeeded, failed, partial, missed, skipped')
    .option(
      '--since <when>',
      'only runs since then: a duration back (30m, 24h) or a date-time',
      sinceOption,
    )
    .option('--limit <n>', 'how many', '20');
}

/** `snapwarden policies`: the policies in force with their next run, and invalid policy files. */
export function policiesCommand(): Command {
  return withCommon(new Command('policies'))
    .description('list the policies in force, and the policy files that are invalid')
    .action(listPolicies);
}

/** `snapwarden runs`: the job history, newest first. */
export function runsCommand(): Command {
  return withRunFilters(withCommon(new Command('runs')))
    .description('list runs (job history), newest first')
    .action(listRuns);
}

const RESOURCES: Record<string, (options: RunsOptions) => Promise<void>> = {
  policies: listPolicies,
  runs: listRuns,
  volumes: listVolumes,
  snapshots: listSnapshots,
};
const ALIASES: Record<string, string> = {
  policy: 'policies',
  run: 'runs',
  volume: 'volumes',
  pvc: 'volumes',
  snapshot: 'snapshots',
};

/** `snapwarden get <resource>`: kubectl-style tables of policies, runs, volumes, snapshots. */
export function getCommand(): Command {
  return withRunFilters(withCommon(new Command('get')))
    .description('list policies, runs, volumes or snapshots (kubectl style)')
    .argument('<resource>', 'policies, runs, volumes or snapshots')
    .option('-n, --namespace <namespace>', 'only this namespace (volumes, snapshots, runs)')
    .action(async (resource: string, options: RunsOptions) => {
      const list = RESOURCES[ALIASES[resource] ?? resource];
      if (!list) {
        throw new CliError(
          `unknown resource ${JSON.stringify(resource)}: give policies, runs, volumes or snapshots`,
          EXIT.usage,
        );
      }
      await list(options);
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
