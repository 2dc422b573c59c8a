import {
  finalRunState,
  isRunKind,
  isRunState,
  isTerminalVolumeState,
  isVolumeRunState,
  type RunCounts,
  type RunRecord,
  type RunStartInput,
  type RunState,
  type VolumeRunResult,
} from './run-record.js';

/** Hash field holding one volume's JSON result. */
export const volumeField = (volume: string): string => `v:${volume}`;

/** Hash field of a run's admission decision (see `RunStartInput.admission`). */
export const ADMISSION_FIELD = 'admission';

/** Hash field set once the run's start has been announced (audit events appended). */
export const ANNOUNCED_FIELD = 'announced';

/** Hash fields of counters kept by the update script. */
const COUNTER = {
  open: 'n:open',
  succeeded: 'n:succeeded',
  failed: 'n:failed',
  skipped: 'n:skipped',
};

/** Field/value pairs of a new run's hash (meta, one JSON field per volume, counters). */
export function startFields(input: RunStartInput, now: Date): string[] {
  const volumes = [...new Set(input.volumes)];
  const decided = new Map<string, VolumeRunResult>();
  for (const result of input.decided ?? []) {
    if (isTerminalVolumeState(result.state)) decided.set(result.volume, result);
  }
  const results = volumes.map((volume): VolumeRunResult => {
    if (input.state) {
      return {
        volume,
        state: 'skipped',
        ...(input.message === undefined ? {} : { reason: input.message }),
      };
    }
    return decided.get(volume) ?? { volume, state: 'pending' };
  });
  const tally = (state: VolumeRunResult['state']) =>
    results.filter((r) => r.state === state).length;
  const n = { succeeded: tally('succeeded'), failed: tally('failed'), skipped: tally('skipped') };
  const open = tally('pending') + tally('running');
  const terminal: RunState | undefined = input.state ?? (open === 0 ? finalRunState(n) : undefined);
  const fields = ['id', input.id, 'kind', input.kind, 'namespace', input.namespace];
  fields.push('trigger', input.trigger, 'scheduledAt', input.scheduledAt.toISOString());
  fields.push('createdAt', now.toISOString(), 'createdAtMs', String(now.getTime()));
  fields.push('state', terminal ?? 'running', 'volumes', JSON.stringify(volumes));
  if (input.policy !== undefined) fields.push('policy', input.policy);
  if (input.message !== undefined) fields.push('message', input.message);
  if (input.admission !== undefined) fields.push(ADMISSION_FIELD, input.admission);
  if (terminal) fields.push('finishedAt', now.toISOString(), 'durationMs', '0');
  for (const result of results) fields.push(volumeField(result.volume), JSON.stringify(result));
  fields.push(COUNTER.open, String(open), COUNTER.skipped, String(n.skipped));
  fields.push(COUNTER.succeeded, String(n.succeeded), COUNTER.failed, String(n.failed));
  return fields;
}

/** Turns a flat `[field, value, ...]` reply into a map. */
export function pairsToMap(pairs: readonly unknown[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) map.set(String(pairs[i]), String(pairs[i + 1]));
  return map;
}

/** `volume`'s stored result (its run hash field), or `undefined` when absent or unreadable. */
export function parseVolumeResult(
  volume: string,
  json: string | undefined,
): VolumeRunResult | undefined {
  if (json === undefined) return undefined;
  try {
    const value = JSON.parse(json) as Partial<VolumeRunResult>;
    if (typeof value.state === 'string' && isVolumeRunState(value.state)) {
      return { ...value, volume, state: value.state };
    }
  } catch {
    // Unreadable: no result.
  }
  return undefined;
}

function parseVolume(volume: string, json: string | undefined): VolumeRunResult {
  // A corrupt field reads as pending rather than hiding the whole run.
  return parseVolumeResult(volume, json) ?? { volume, state: 'pending' };
}

function parseNames(json: string | undefined): string[] {
  try {
    const value: unknown = JSON.parse(json ?? '[]');
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

function counts(map: Map<string, string>, total: number): RunCounts {
  const n = (field: string): number => Number(map.get(field) ?? 0) || 0;
  return {
    total,
    succeeded: n(COUNTER.succeeded),
    failed: n(COUNTER.failed),
    skipped: n(COUNTER.skipped),
    pending: n(COUNTER.open),
  };
}

function optional(map: Map<string, string>, record: RunRecord): RunRecord {
  const policy = map.get('policy');
  const message = map.get('message');
  const finishedAt = map.get('finishedAt');
  const durationMs = map.get('durationMs');
  if (policy !== undefined) record.policy = policy;
  if (message !== undefined) record.message = message;
  if (finishedAt !== undefined) record.finishedAt = finishedAt;
  if (durationMs !== undefined) record.durationMs = Number(durationMs);
  return record;
}

/** Reads a run's hash; `undefined` when it is absent or not a run. */
export function decodeRun(map: Map<string, string>): RunRecord | undefined {
  const [id, kind, state] = [map.get('id'), map.get('kind') ?? '', map.get('state') ?? ''];
  if (id === undefined || !isRunKind(kind) || !isRunState(state)) return undefined;
  const names = parseNames(map.get('volumes'));
  const record: RunRecord = {
    id,
    kind,
    namespace: map.get('namespace') ?? '',
    trigger: map.get('trigger') ?? '',
    scheduledAt: map.get('scheduledAt') ?? '',
    createdAt: map.get('createdAt') ?? '',
    state,
    volumes: names.map((name) => parseVolume(name, map.get(volumeField(name)))),
    counts: counts(map, names.length),
  };
  return optional(map, record);
}
