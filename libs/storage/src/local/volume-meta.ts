import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { MalformedFileError } from '../errors.js';
import { isDnsLabel, isDnsSubdomain } from '../shared/names.js';
import { unlessMissing, writeFileAtomic } from './fs-util.js';

/** What `<dataDir>/volumes/<name>.volume.yaml` says about a volume. */
export interface VolumeMeta {
  namespace: string;
  labels: Record<string, string>;
}

export const DEFAULT_NAMESPACE = 'default';

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * Reads a volume's metadata file. No file means namespace `default` and no labels; a file
 * that is not valid YAML or breaks the schema (`namespace`: DNS-1123 label, `labels`: a map of
 * Kubernetes label keys to string values, nothing else) is a `MalformedFileError` naming the
 * file, never a silent default, because a selector would then quietly miss the volume.
 */
export async function readVolumeMeta(file: string): Promise<VolumeMeta> {
  const text = await unlessMissing(() => readFile(file, 'utf8'));
  return text === undefined ? defaultMeta() : parseVolumeMeta(text, file);
}

/** Parses the text of a volume metadata file (see `readVolumeMeta`). */
export function parseVolumeMeta(text: string, file: string): VolumeMeta {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new MalformedFileError(file, `invalid YAML: ${(error as Error).message}`);
  }
  if (doc === null || doc === undefined) return defaultMeta();
  if (!isRecord(doc))
    throw new MalformedFileError(file, 'expected a mapping with namespace, labels');
  const unknown = Object.keys(doc).filter((key) => key !== 'namespace' && key !== 'labels');
  if (unknown.length > 0) {
    throw new MalformedFileError(file, `unknown key "${unknown[0]}" (allowed: namespace, labels)`);
  }
  return { namespace: parseNamespace(doc.namespace, file), labels: parseLabels(doc.labels, file) };
}

/** Writes a volume metadata file atomically. */
export async function writeVolumeMeta(file: string, meta: VolumeMeta): Promise<void> {
  await writeFileAtomic(file, stringify({ namespace: meta.namespace, labels: meta.labels }));
}

function parseNamespace(value: unknown, file: string): string {
  if (value === undefined || value === null) return DEFAULT_NAMESPACE;
  if (typeof value !== 'string' || !isDnsLabel(value)) {
    throw new MalformedFileError(
      file,
      `namespace ${JSON.stringify(value)} is not a DNS-1123 label`,
    );
  }
  return value;
}

function parseLabels(value: unknown, file: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new MalformedFileError(file, 'labels must be a mapping');
  const labels: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (!isLabelKey(key)) throw new MalformedFileError(file, `labels: invalid key "${key}"`);
    if (typeof raw !== 'string' || !LABEL_VALUE.test(raw)) {
      throw new MalformedFileError(
        file,
        `labels.${key}: value ${JSON.stringify(raw)} must be a string label value (quote numbers)`,
      );
    }
    labels[key] = raw;
  }
  return labels;
}

function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash === -1 ? key : key.slice(slash + 1);
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  return LABEL_NAME.test(name) && (prefix === undefined || isDnsSubdomain(prefix));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function defaultMeta(): VolumeMeta {
  return { namespace: DEFAULT_NAMESPACE, labels: {} };
}
