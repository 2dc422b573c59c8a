import { badRequest } from './errors.js';
import type { ResourceType } from './resources.js';
import type { KubeObject } from './types.js';

type LabelOp = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

/** One parsed requirement of a label selector. */
export interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

/** A parsed selector: every requirement must hold. */
export type LabelSelector = LabelRequirement[];

/** One parsed term of a field selector. */
export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

const KEY =
  /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;
const VALUE = /^([a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?)?$/;

function splitTopLevel(input: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of input) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function fail(term: string, why: string): never {
  throw badRequest(`unable to parse requirement: ${why} in "${term}"`);
}

function checkKey(key: string, term: string): string {
  if (!KEY.test(key)) fail(term, `invalid label key "${key}"`);
  return key;
}

function checkValues(values: string[], term: string): string[] {
  for (const v of values) if (!VALUE.test(v)) fail(term, `invalid label value "${v}"`);
  return values;
}

function parseSet(term: string, keyword: 'in' | 'notin'): LabelRequirement | undefined {
  const match = new RegExp(`^(\\S+)\\s+${keyword}\\s*\\((.*)\\)$`).exec(term);
  if (!match) return undefined;
  const values = (match[2] ?? '').split(',').map((v) => v.trim());
  return { key: checkKey(match[1] ?? '', term), op: keyword, values: checkValues(values, term) };
}

const OPERATORS: Record<string, LabelOp> = {
  '=': '=',
  '==': '=',
  '!=': '!=',
  '>': 'gt',
  '<': 'lt',
};

function parseComparison(term: string): LabelRequirement | undefined {
  const match = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(term);
  if (!match) return undefined;
  const key = checkKey(match[1] ?? '', term);
  const value = match[3] ?? '';
  const op = OPERATORS[match[2] ?? '='] ?? '=';
  if (op === 'gt' || op === 'lt') {
    if (!/^-?\d+$/.test(value)) fail(term, 'for gt/lt the value must be an integer');
    return { key, op, values: [value] };
  }
  return { key, op, values: checkValues([value], term) };
}

function parseRequirement(term: string): LabelRequirement {
  const found = parseSet(term, 'notin') ?? parseSet(term, 'in') ?? parseComparison(term);
  if (found) return found;
  if (term.startsWith('!'))
    return { key: checkKey(term.slice(1).trim(), term), op: '!exists', values: [] };
  return { key: checkKey(term, term), op: 'exists', values: [] };
}

/** Parses `a=b,c!=d,e in (x,y),!f` (the string form used in `labelSelector`); 400 on bad syntax. */
export function parseLabelSelector(input: string | undefined): LabelSelector {
  if (!input) return [];
  return splitTopLevel(input).map(parseRequirement);
}

const MATCHERS: Record<LabelOp, (value: string | undefined, values: string[]) => boolean> = {
  exists: (v) => v !== undefined,
  '!exists': (v) => v === undefined,
  '=': (v, values) => v !== undefined && v === values[0],
  '!=': (v, values) => v === undefined || v !== values[0],
  in: (v, values) => v !== undefined && values.includes(v),
  notin: (v, values) => v === undefined || !values.includes(v),
  gt: (v, values) => v !== undefined && Number(v) > Number(values[0]),
  lt: (v, values) => v !== undefined && Number(v) < Number(values[0]),
};

function matchesRequirement(labels: Record<string, string>, req: LabelRequirement): boolean {
  const value = Object.hasOwn(labels, req.key) ? labels[req.key] : undefined;
  return MATCHERS[req.op](value, req.values);
}

/** True when the labels satisfy every requirement. */
export function matchesLabels(
  labels: Record<string, string> | undefined,
  selector: LabelSelector,
): boolean {
  return selector.every((req) => matchesRequirement(labels ?? {}, req));
}

function unescapeField(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

function splitEscaped(input: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i += 1) {
    const ch = input[i] ?? '';
    if (ch === '\\') {
      current += ch + (input[i + 1] ?? '');
      i += 1;
    } else if (ch === ',') {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.filter((p) => p.length > 0);
}

/** Parses `metadata.name=x,status.phase!=Bound`; 400 on bad syntax. */
export function parseFieldSelector(input: string | undefined): FieldRequirement[] {
  if (!input) return [];
  return splitEscaped(input).map((term) => {
    const match = /^([^=!]+)(==|=|!=)(.*)$/s.exec(term);
    if (!match) throw badRequest(`invalid selector: '${input}'; can't understand '${term}'`);
    return {
      field: (match[1] ?? '').trim(),
      op: match[2] === '!=' ? '!=' : '=',
      value: unescapeField(match[3] ?? ''),
    };
  });
}

/** Reads a selectable field of an object; undefined when the resource does not support it. */
export function fieldValue(rt: ResourceType, obj: KubeObject, field: string): string | undefined {
  if (field === 'metadata.name') return obj.metadata.name ?? '';
  if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
  const getter = rt.fieldLabels[field];
  return getter ? (getter(obj) ?? '') : undefined;
}

/** Rejects field selectors the resource cannot answer, with the real server's wording. */
export function checkFieldSelector(rt: ResourceType, reqs: FieldRequirement[]): void {
  const known = ['metadata.name', 'metadata.namespace', ...Object.keys(rt.fieldLabels)];
  for (const req of reqs) {
    if (known.includes(req.field)) continue;
    if (rt.custom) {
      const list = known.map((k) => `"${k}"`).join(', ');
      throw badRequest(`"${req.field}" is not a known field selector: only ${list}`);
    }
    throw badRequest(`field label not supported: ${req.field}`);
  }
}

/** True when the object satisfies every field requirement. */
export function matchesFields(
  rt: ResourceType,
  obj: KubeObject,
  reqs: FieldRequirement[],
): boolean {
  return reqs.every((req) => {
    const value = fieldValue(rt, obj, req.field) ?? '';
    return req.op === '=' ? value === req.value : value !== req.value;
  });
}

/** A compiled list/watch filter over namespace, labels and fields. */
export interface ObjectFilter {
  namespace?: string;
  labels: LabelSelector;
  fields: FieldRequirement[];
}

/** Builds a filter from query parameters; throws 400 for bad selectors. */
export function compileFilter(
  rt: ResourceType,
  namespace: string | undefined,
  labelSelector: string | undefined,
  fieldSelector: string | undefined,
): ObjectFilter {
  const fields = parseFieldSelector(fieldSelector);
  checkFieldSelector(rt, fields);
  return { namespace, labels: parseLabelSelector(labelSelector), fields };
}

/** True when the object passes the filter. */
export function matchesFilter(rt: ResourceType, obj: KubeObject, filter: ObjectFilter): boolean {
  if (filter.namespace !== undefined && obj.metadata.namespace !== filter.namespace) return false;
  return matchesLabels(obj.metadata.labels, filter.labels) && matchesFields(rt, obj, filter.fields);
}
