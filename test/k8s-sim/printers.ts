import type { PrinterColumn } from './resources.js';
import { getPath, getString, isRecord, type KubeObject, text } from './types.js';

function withRemainder(big: number, bigUnit: string, small: number, smallUnit: string): string {
  return small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit}${small}${smallUnit}`;
}

function longDuration(hours: number): string {
  const days = Math.floor(hours / 24);
  if (hours < 48) return `${hours}h`;
  if (hours < 192) return withRemainder(days, 'd', hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  return hours < 24 * 365 * 8 ? withRemainder(years, 'y', days % 365, 'd') : `${years}y`;
}

/** `duration.HumanDuration` from apimachinery: 45s, 3m10s, 5h, 12d… */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return withRemainder(minutes, 'm', seconds % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return hours < 8 ? withRemainder(hours, 'h', minutes % 60, 'm') : longDuration(hours);
}

/** Age of a timestamp as kubectl shows it, `<unknown>` when absent. */
export function ageOf(timestamp: unknown, now = Date.now()): string {
  if (typeof timestamp !== 'string') return '<unknown>';
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? '<invalid>' : humanDuration(now - at);
}

function col(
  name: string,
  cell: (obj: KubeObject) => unknown,
  extra: Partial<PrinterColumn> = {},
): PrinterColumn {
  return { name, type: 'string', description: name, ...extra, cell };
}

const age = col('Age', (o) => ageOf(o.metadata.creationTimestamp), {
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created.',
});

function str(path: string[], fallback = ''): (obj: KubeObject) => string {
  return (obj) => {
    const value = getPath(obj, path);
    return value === undefined || value === null ? fallback : text(value);
  };
}

const MODE_SHORT: Record<string, string> = {
  ReadWriteOnce: 'RWO',
  ReadOnlyMany: 'ROX',
  ReadWriteMany: 'RWX',
  ReadWriteOncePod: 'RWOP',
};

function accessModes(path: string[]): (obj: KubeObject) => string {
  return (obj) => {
    const modes = getPath(obj, path);
    return Array.isArray(modes)
      ? modes.map((m) => MODE_SHORT[String(m as string)] ?? String(m as string)).join(',')
      : '';
  };
}

function countKeys(path: string[]): (obj: KubeObject) => number {
  return (obj) => {
    const value = getPath(obj, path);
    return isRecord(value) ? Object.keys(value).length : Array.isArray(value) ? value.length : 0;
  };
}

function servicePorts(obj: KubeObject): string {
  const ports = getPath(obj, ['spec', 'ports']);
  if (!Array.isArray(ports) || ports.length === 0) return '<none>';
  return ports
    .map((p) =>
      isRecord(p)
        ? `${String(p.port as number)}/${String((p.protocol as string | undefined) ?? 'TCP')}`
        : '',
    )
    .join(',');
}

function eventObject(obj: KubeObject): string {
  const kind = getString(obj, ['involvedObject', 'kind']) ?? '';
  return `${kind.toLowerCase()}/${getString(obj, ['involvedObject', 'name']) ?? ''}`;
}

function lastSeen(obj: KubeObject): string {
  const at =
    getString(obj, ['lastTimestamp']) ??
    getString(obj, ['eventTime']) ??
    obj.metadata.creationTimestamp;
  return ageOf(at);
}

function jobStatus(obj: KubeObject): string {
  const conditions = getPath(obj, ['status', 'conditions']);
  const done = Array.isArray(conditions)
    ? conditions.find(
        (c) => isRecord(c) && c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'),
      )
    : undefined;
  return isRecord(done) ? String(done.type) : 'Running';
}

function claimOf(obj: KubeObject): string {
  const ns = getString(obj, ['spec', 'claimRef', 'namespace']);
  const name = getString(obj, ['spec', 'claimRef', 'name']);
  return ns && name ? `${ns}/${name}` : '';
}

/** Built-in printer columns, following the real server's printers where it matters to kubectl users. */
export const BUILTIN_COLUMNS: Record<string, PrinterColumn[]> = {
  namespaces: [col('Status', str(['status', 'phase'])), age],
  persistentvolumeclaims: [
    col('Status', str(['status', 'phase'])),
    col('Volume', str(['spec', 'volumeName'])),
    col('Capacity', str(['status', 'capacity', 'storage'])),
    col('Access Modes', accessModes(['status', 'accessModes'])),
    col('StorageClass', str(['spec', 'storageClassName'])),
    col('VolumeAttributesClass', str(['spec', 'volumeAttributesClassName'], '<unset>')),
    age,
  ],
  persistentvolumes: [
    col('Capacity', str(['spec', 'capacity', 'storage'])),
    col('Access Modes', accessModes(['spec', 'accessModes'])),
    col('Reclaim Policy', str(['spec', 'persistentVolumeReclaimPolicy'])),
    col('Status', str(['status', 'phase'])),
    col('Claim', claimOf),
    col('StorageClass', str(['spec', 'storageClassName'])),
    col('VolumeAttributesClass', str(['spec', 'volumeAttributesClassName'], '<unset>')),
    col('Reason', str(['status', 'reason'])),
    age,
  ],
  events: [
    col('Last Seen', lastSeen),
    col('Type', str(['type'])),
    col('Reason', str(['reason'])),
    col('Object', eventObject),
    col('Message', str(['message'])),
  ],
  secrets: [col('Type', str(['type'])), col('Data', countKeys(['data']), { type: 'string' }), age],
  configmaps: [col('Data', (o) => countKeys(['data'])(o) + countKeys(['binaryData'])(o)), age],
  services: [
    col('Type', str(['spec', 'type'])),
    col('Cluster-IP', str(['spec', 'clusterIP'], '<none>')),
    col('External-IP', () => '<none>'),
    col('Port(s)', servicePorts),
    age,
  ],
  serviceaccounts: [col('Secrets', countKeys(['secrets'])), age],
  pods: [
    col('Ready', (o) => `0/${countKeys(['spec', 'containers'])(o)}`),
    col('Status', str(['status', 'phase'])),
    col('Restarts', () => 0, { type: 'integer' }),
    age,
  ],
  deployments: [
    col(
      'Ready',
      (o) => `${str(['status', 'readyReplicas'], '0')(o)}/${str(['spec', 'replicas'], '0')(o)}`,
    ),
    col('Up-to-date', (o) => Number(getPath(o, ['status', 'updatedReplicas']) ?? 0), {
      type: 'integer',
    }),
    col('Available', (o) => Number(getPath(o, ['status', 'availableReplicas']) ?? 0), {
      type: 'integer',
    }),
    age,
  ],
  jobs: [
    col('Status', jobStatus),
    col(
      'Completions',
      (o) => `${str(['status', 'succeeded'], '0')(o)}/${str(['spec', 'completions'], '1')(o)}`,
    ),
    col('Duration', () => ''),
    age,
  ],
  roles: [col('Created At', str(['metadata', 'creationTimestamp']), { format: 'date' })],
  clusterroles: [col('Created At', str(['metadata', 'creationTimestamp']), { format: 'date' })],
  rolebindings: [
    col('Role', (o) => `${str(['roleRef', 'kind'])(o)}/${str(['roleRef', 'name'])(o)}`),
    age,
  ],
  clusterrolebindings: [
    col('Role', (o) => `${str(['roleRef', 'kind'])(o)}/${str(['roleRef', 'name'])(o)}`),
    age,
  ],
  storageclasses: [
    col('Provisioner', str(['provisioner'])),
    col('ReclaimPolicy', str(['reclaimPolicy'])),
    col('VolumeBindingMode', str(['volumeBindingMode'])),
    col('AllowVolumeExpansion', str(['allowVolumeExpansion'], 'false')),
    age,
  ],
  leases: [col('Holder', str(['spec', 'holderIdentity'])), age],
  customresourcedefinitions: [
    col('Created At', str(['metadata', 'creationTimestamp']), { format: 'date' }),
  ],
};

/** The default columns of a resource without a printer: just Age. */
export const DEFAULT_COLUMNS: PrinterColumn[] = [age];
