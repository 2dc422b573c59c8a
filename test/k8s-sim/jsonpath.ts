import { isRecord } from './types.js';

const TOKEN = /\\(.)|\[([^\]]*)\]|(\.)|([^.\\[]+)/g;

function bracketSegment(inner: string): string | number {
  const trimmed = inner.trim();
  const quoted = /^['"](.*)['"]$/.exec(trimmed);
  if (quoted) return quoted[1] ?? '';
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/**
 * Parses the "simple JSON path" subset CRDs allow for printer columns and selectable fields:
 * `.status.readyToUse`, `.spec.items[0].name`, `.metadata.labels['app.kubernetes.io/name']`,
 * `.metadata.annotations.example\.com/key`. Returns the path segments.
 */
export function parseSimpleJsonPath(path: string): (string | number)[] {
  const body = path.startsWith('{') && path.endsWith('}') ? path.slice(1, -1) : path;
  const segments: (string | number)[] = [];
  let current = '';
  for (const match of body.matchAll(TOKEN)) {
    const [, escaped, bracket, dot, text] = match;
    if (escaped !== undefined || text !== undefined) {
      current += escaped ?? text ?? '';
      continue;
    }
    if (current) segments.push(current);
    current = '';
    if (bracket !== undefined && dot === undefined) segments.push(bracketSegment(bracket));
  }
  if (current) segments.push(current);
  return segments;
}

/** Evaluates a simple JSON path; undefined when any step is missing. */
export function evaluateJsonPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const segment of parseSimpleJsonPath(path)) {
    if (typeof segment === 'number')
      current = Array.isArray(current) ? current[segment] : undefined;
    else current = isRecord(current) ? current[segment] : undefined;
    if (current === undefined) return undefined;
  }
  return current;
}
