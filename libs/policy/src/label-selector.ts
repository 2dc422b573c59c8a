import { isLabelKey, isLabelValue } from './k8s-syntax.js';
import type { LabelSelector, LabelSelectorRequirement } from './policy.schema.js';

/**
 * Kubernetes label-selector semantics: every `matchLabels` pair and every `matchExpressions`
 * requirement must hold (AND). `In` needs the key with one of the values; `NotIn` holds when
 * the key is absent or has none of the values; `Exists` / `DoesNotExist` test the key only.
 * An empty selector (`{}`) matches every object.
 */
export function matchesSelector(labels: Record<string, string>, selector: LabelSelector): boolean {
  const pairs = Object.entries(selector.matchLabels ?? {});
  if (!pairs.every(([key, value]) => labels[key] === value)) return false;
  return (selector.matchExpressions ?? []).every((req) => matchesRequirement(labels, req));
}

function matchesRequirement(
  labels: Record<string, string>,
  req: LabelSelectorRequirement,
): boolean {
  const value = Object.hasOwn(labels, req.key) ? labels[req.key] : undefined;
  switch (req.operator) {
    case 'In':
      return value !== undefined && (req.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(req.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
  }
}

const KEY = '([A-Za-z0-9][-A-Za-z0-9_./]*)';
const VALUE = '([-A-Za-z0-9_.]*)';
const NOT_EXISTS = new RegExp(`^!\\s*${KEY}$`);
const SET = new RegExp(`^${KEY}\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const EQUALITY = new RegExp(`^${KEY}\\s*(==|=|!=)\\s*${VALUE}$`);
const EXISTS = new RegExp(`^${KEY}$`);

/**
 * Parses kubectl's selector syntax (`app=shop,tier!=web,env in (a,b),env notin (c),!legacy,team`)
 * into a {@link LabelSelector}. `=`/`==` become `matchLabels` (a repeated key becomes an `In`
 * requirement, keeping AND semantics), the rest `matchExpressions`; the empty string is `{}`
 * (everything). Throws an `Error` naming the offending requirement on bad syntax, keys or values.
 */
export function parseSelector(text: string): LabelSelector {
  const selector: LabelSelector = {};
  for (const raw of splitRequirements(text)) {
    const requirement = raw.trim();
    if (requirement === '') throw selectorError(text, 'empty requirement');
    addRequirement(selector, parseRequirement(text, requirement));
  }
  return selector;
}

type Parsed =
  | { kind: 'equals'; key: string; value: string }
  | { kind: 'expression'; requirement: LabelSelectorRequirement };

function parseRequirement(text: string, requirement: string): Parsed {
  const parsed = matchRequirement(requirement);
  if (parsed === undefined) throw selectorError(text, `cannot parse "${requirement}"`);
  const key = parsed.kind === 'equals' ? parsed.key : parsed.requirement.key;
  const values = parsed.kind === 'equals' ? [parsed.value] : (parsed.requirement.values ?? []);
  if (!isLabelKey(key)) throw selectorError(text, `invalid label key "${key}"`);
  const bad = values.find((v) => !isLabelValue(v));
  if (bad !== undefined) throw selectorError(text, `invalid label value "${bad}"`);
  return parsed;
}

function matchRequirement(requirement: string): Parsed | undefined {
  const notExists = NOT_EXISTS.exec(requirement);
  if (notExists) return expression(notExists[1], 'DoesNotExist');
  const set = SET.exec(requirement);
  if (set) {
    const values = (set[3] ?? '').split(',').map((v) => v.trim());
    if (values.every((v) => v === '')) return undefined;
    return expression(set[1], set[2] === 'in' ? 'In' : 'NotIn', values);
  }
  const equality = EQUALITY.exec(requirement);
  if (equality) {
    const [, key = '', op, value = ''] = equality;
    if (op === '!=') return expression(key, 'NotIn', [value]);
    return { kind: 'equals', key, value };
  }
  const exists = EXISTS.exec(requirement);
  return exists ? expression(exists[1], 'Exists') : undefined;
}

function expression(
  key: string | undefined,
  operator: LabelSelectorRequirement['operator'],
  values?: string[],
): Parsed {
  const requirement: LabelSelectorRequirement = { key: key ?? '', operator };
  if (values !== undefined) requirement.values = values;
  return { kind: 'expression', requirement };
}

function addRequirement(selector: LabelSelector, parsed: Parsed): void {
  if (parsed.kind === 'equals') {
    const labels = (selector.matchLabels ??= {});
    const existing = Object.hasOwn(labels, parsed.key) ? labels[parsed.key] : undefined;
    if (existing === undefined || existing === parsed.value) {
      labels[parsed.key] = parsed.value;
      return;
    }
    (selector.matchExpressions ??= []).push({
      key: parsed.key,
      operator: 'In',
      values: [parsed.value],
    });
    return;
  }
  (selector.matchExpressions ??= []).push(parsed.requirement);
}

/** Splits at commas outside parentheses. */
function splitRequirements(text: string): string[] {
  if (text.trim() === '') return [];
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0 || depth > 1) throw selectorError(text, 'unbalanced parentheses');
    if (ch === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw selectorError(text, 'unbalanced parentheses');
  parts.push(text.slice(start));
  return parts;
}

function selectorError(text: string, why: string): Error {
  return new Error(`invalid label selector "${text}": ${why}`);
}
