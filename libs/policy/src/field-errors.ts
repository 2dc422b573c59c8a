import type { z } from 'zod';

/** One problem with one field of an input document. */
export interface FieldError {
  /** Dotted path, e.g. `spec.retention.keepLast`, `spec.claimNames[0]`; `(root)` for the document. */
  field: string;
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Longest prefix of an input value that a message quotes. */
export const QUOTE_MAX = 64;
/** Longest message (or field path) kept in a {@link FieldError}. */
export const MESSAGE_MAX = 512;

/**
 * `text` cut to `max` characters, saying how long it was: input can be megabytes, and every
 * message ends up in the log, the audit log and `problems`.
 */
export function boundText(text: string, max = MESSAGE_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** A value as a message quotes it: JSON-quoted, at most {@link QUOTE_MAX} characters of it. */
export function quoteValue(value: string): string {
  if (value.length <= QUOTE_MAX) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, QUOTE_MAX))}… (${value.length} characters)`;
}

/** Renders a path the way Kubernetes names fields: `spec.claimNames[0]`, `labels[app.kubernetes.io/name]`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) {
      out += out === '' ? boundText(segment, QUOTE_MAX) : `.${boundText(segment, QUOTE_MAX)}`;
    } else out += `[${boundText(String(segment), QUOTE_MAX)}]`;
  }
  return out === '' ? '(root)' : boundText(out);
}

/** One line per error, `field: message`, in the given order; each part bounded. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${boundText(e.field)}: ${boundText(e.message)}`).join('\n');
}

/**
 * Field errors for zod issues; an unknown key is reported on its own path as "unknown field".
 * Paths and messages are bounded ({@link boundText}), whatever the input held.
 */
export function fieldErrorsFromIssues(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          field: formatFieldPath([...issue.path, key]),
          message: 'unknown field',
        }))
      : [{ field: formatFieldPath(issue.path), message: boundText(issueMessage(issue)) }],
  );
}

type Issue = z.core.$ZodIssue;
type MessageFor = { [Code in Issue['code']]: (issue: Extract<Issue, { code: Code }>) => string };

const own = (issue: Issue) => issue.message;

/** One entry per issue code: the type makes a new zod code a compile error here. */
const MESSAGES: MessageFor = {
  invalid_type: (i) => (i.input === undefined ? 'required' : `must be ${article(i.expected)}`),
  too_small: (i) => tooSmall(i.origin, i.minimum),
  too_big: (i) => (i.origin === 'number' ? `must be at most ${i.maximum}` : i.message),
  invalid_value: (i) => `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`,
  unrecognized_keys: () => 'unknown field',
  invalid_format: own,
  not_multiple_of: own,
  invalid_union: own,
  // A record key that failed its own schema: that schema's message (e.g. "invalid label key").
  invalid_key: (i) => i.issues[0]?.message ?? i.message,
  invalid_element: own,
  custom: own,
};

function issueMessage(issue: Issue): string {
  const format = MESSAGES[issue.code] as (issue: Issue) => string;
  return format(issue);
}

function tooSmall(origin: string, minimum: number | bigint): string {
  if ((origin === 'string' || origin === 'array') && Number(minimum) === 1)
    return 'must not be empty';
  if (origin === 'string') return `must be at least ${minimum} characters long`;
  if (origin === 'array') return `must have at least ${minimum} items`;
  return `must be at least ${minimum}`;
}

function article(type: string): string {
  const name = type === 'int' ? 'integer' : type;
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}
