import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { DateTime } from 'luxon';
import { parseAllDocuments } from 'yaml';
import {
  matchesSelector,
  nextRuns,
  parseBackupPolicy,
  retentionFootprint,
  type BackupPolicy,
} from '#lib/policy';
import { ApiClient } from './api-client.js';
import { cliConnection, serverGiven } from './cli-config.js';
import { CliError, EXIT } from './exit-codes.js';
import { withCommon, type CommonOptions, printStructured } from './options.js';

interface PreviewOptions extends CommonOptions {
  file: string;
}

interface VolumeItem {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  snapshots: number;
  cap: number;
}

/** What `preview` shows for one policy. */
export interface PolicyPreview {
  policy: string;
  timeZone: string;
  nextRuns: string[];
  /** Most snapshots the policy holds per volume (while a run takes a new one), and the budget. */
  projected: { retained: number; peak: number; reservedSlots: number };
  volumes: { name: string; snapshotsNow: number; cap: number; fitsUnderCap: boolean }[];
}

/**
 * `snapwarden preview -f policy.yaml`: works offline. For each policy in the file: the next five
 * runs in its time zone, the projected snapshots per volume against the cap, and the volumes it
 * matches (from `--server`, when given).
 */
export function previewCommand(): Command {
  return withCommon(new Command('preview'))
    .description('preview a policy file: matched volumes, next runs, projected snapshots')
    .requiredOption('-f, --file <policy.yaml>', 'a BackupPolicy YAML file')
    .action(async (options: PreviewOptions) => {
      const policies = await readPolicies(options.file);
      const volumes = serverGiven(options)
        ? (
            await new ApiClient(cliConnection(options)).get<{ items: VolumeItem[] }>(
              '/api/v1/volumes',
            )
          ).items
        : [];
      const server = serverGiven(options) ? cliConnection(options).server : undefined;
      const previews = policies.map((p) => preview(p, volumes, new Date()));
      if (!printStructured(options, previews)) previews.forEach((p) => printPreview(p, server));
      const misfit = previews.find((p) => p.volumes.some((v) => !v.fitsUnderCap));
      if (misfit) throw new CliError(`${options.file}: ${misfitMessage(misfit)}`, EXIT.usage);
    });
}

async function readPolicies(file: string): Promise<BackupPolicy[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`-f ${file}: ${(error as Error).message}`, EXIT.usage);
  }
  return parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new CliError(`${file}: ${doc.errors[0]?.message}`, EXIT.usage);
    const parsed = parseBackupPolicy(doc.toJS(), {
      defaultDriver: 'local',
      maxSnapshotsPerVolume: () => undefined,
    });
    if (!parsed.ok) {
      const first = parsed.errors[0];
      throw new CliError(
        `${file} (document ${i + 1}): ${first?.field}: ${first?.message}`,
        EXIT.usage,
      );
    }
    return parsed.policy;
  });
}

function preview(policy: BackupPolicy, volumes: VolumeItem[], now: Date): PolicyPreview {
  const { spec, metadata } = policy;
  const namespace = metadata.namespace ?? 'default';
  const footprint = retentionFootprint(spec.retention);
  const matched = volumes.filter(
    (v) =>
      v.namespace === namespace &&
      ((spec.selector !== undefined && matchesSelector(v.labels, spec.selector)) ||
        (spec.claimNames ?? []).includes(v.name)),
  );
  return {
    policy: `${namespace}/${metadata.name}`,
    timeZone: spec.timeZone,
    nextRuns: nextRuns(spec.schedule, spec.timeZone, now, 5).map(
      (d) => DateTime.fromJSDate(d, { zone: spec.timeZone }).toISO() ?? d.toISOString(),
    ),
    projected: { ...footprint, reservedSlots: spec.reservedSlots },
    volumes: matched.map((v) => ({
      name: v.name,
      snapshotsNow: v.snapshots,
      cap: v.cap,
      fitsUnderCap: footprint.peak + spec.reservedSlots <= v.cap,
    })),
  };
}

/** Names the fields that make a policy not fit a matched volume's cap. */
function misfitMessage(p: PolicyPreview): string {
  const need = p.projected.peak + p.projected.reservedSlots;
  const small = p.volumes.filter((v) => !v.fitsUnderCap).map((v) => `${v.name} (cap ${v.cap})`);
  return (
    `spec.retention: policy ${p.policy} needs ${need} snapshots per volume at peak ` +
    `(${p.projected.peak} for spec.retention + ${p.projected.reservedSlots} spec.reservedSlots), ` +
    `more than the cap of ${small.join(', ')}; the server would reject it`
  );
}

function printPreview(p: PolicyPreview, server: string | undefined): void {
  console.log(`policy ${p.policy} (time zone ${p.timeZone})`);
  console.log('  next runs:');
  for (const run of p.nextRuns) console.log(`    ${run}`);
  console.log(
    `  projected snapshots per volume: ${p.projected.retained} retained, ${p.projected.peak} at peak, ` +
      `${p.projected.reservedSlots} slot(s) reserved for on-demand`,
  );
  if (p.volumes.length === 0) {
    console.log(
      server === undefined
        ? '  matched volumes: unknown offline (give --server to list them)'
        : `  matched volumes: none on ${server} (no volume in ${p.policy.split('/')[0]} matches the selector or claimNames)`,
    );
  }
  for (const v of p.volumes) {
    const need = p.projected.peak + p.projected.reservedSlots;
    const verdict = v.fitsUnderCap ? 'fits' : 'does NOT fit';
    console.log(
      `  volume ${v.name}: ${v.snapshotsNow} now; ${need} at peak with reserved slots ${verdict} the cap of ${v.cap}`,
    );
  }
}
