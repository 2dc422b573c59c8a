import { type FieldError, fieldError } from './errors.js';
import type { StructuralSchema, ValidationRule } from './schema.js';
import { isRecord, jsonEqual, text } from './types.js';

/** A rule the evaluator cannot parse; such rules are skipped (see README). */
class Unsupported extends Error {}
/** A CEL runtime error (e.g. `no such key`), reported like the API server does. */
class EvalError extends Error {}

type Node =
  | { k: 'lit'; v: unknown }
  | { k: 'id'; name: string }
  | { k: 'sel'; obj: Node; field: string }
  | { k: 'idx'; obj: Node; index: Node }
  | { k: 'call'; fn: string; target?: Node; args: Node[] }
  | { k: 'un'; op: string; arg: Node }
  | { k: 'bin'; op: string; left: Node; right: Node }
  | { k: 'cond'; test: Node; then: Node; else: Node }
  | { k: 'list'; items: Node[] }
  | { k: 'map'; entries: [Node, Node][] };

const TOKEN =
  /\s*(?:(\d+\.\d+|\d+)(u?)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|&&|\|\||[-+*/%<>!?:.,()[\]{}]))/y;

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    if (/^\s*$/.test(source.slice(TOKEN.lastIndex))) break;
    const match = TOKEN.exec(source);
    if (!match) throw new Unsupported(`cannot tokenize ${source}`);
    tokens.push(match[1] ?? match[3] ?? match[4] ?? match[5] ?? '');
  }
  return tokens;
}

const ESCAPES: Record<string, string> = {
  __dot__: '.',
  __dash__: '-',
  __slash__: '/',
  __underscores__: '__',
};

/** CEL escapes reserved words and symbols in field names: `__namespace__`, `__dot__`… */
function unescapeField(name: string): string {
  const reserved = /^__([a-z]+)__$/.exec(name);
  if (reserved && !(name in ESCAPES)) return reserved[1] ?? name;
  return name.replace(/__(dot|dash|slash|underscores)__/g, (m) => ESCAPES[m] ?? m);
}

const BINARY_LEVELS: string[][] = [
  ['||'],
  ['&&'],
  ['==', '!=', '<', '<=', '>', '>=', 'in'],
  ['+', '-'],
  ['*', '/', '%'],
];

class Parser {
  private pos = 0;
  constructor(private readonly tokens: string[]) {}

  parse(): Node {
    const node = this.expr();
    if (this.pos < this.tokens.length) throw new Unsupported(`unexpected ${this.peek()}`);
    return node;
  }

  private peek(): string | undefined {
    return this.tokens[this.pos];
  }

  private next(): string {
    const token = this.tokens[this.pos];
    if (token === undefined) throw new Unsupported('unexpected end');
    this.pos += 1;
    return token;
  }

  private expect(token: string): void {
    if (this.next() !== token) throw new Unsupported(`expected ${token}`);
  }

  private expr(): Node {
    const test = this.binary(0);
    if (this.peek() !== '?') return test;
    this.next();
    const then = this.expr();
    this.expect(':');
    return { k: 'cond', test, then, else: this.expr() };
  }

  private binary(level: number): Node {
    const ops = BINARY_LEVELS[level];
    if (!ops) return this.unary();
    let left = this.binary(level + 1);
    while (ops.includes(this.peek() ?? '')) {
      const op = this.next();
      left = { k: 'bin', op, left, right: this.binary(level + 1) };
    }
    return left;
  }

  private unary(): Node {
    const token = this.peek();
    if (token === '!' || token === '-') {
      this.next();
      return { k: 'un', op: token, arg: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private postfix(start: Node): Node {
    let node = start;
    for (;;) {
      if (this.peek() === '.') {
        this.next();
        const name = this.next();
        node =
          this.peek() === '('
            ? { k: 'call', fn: name, target: node, args: this.args() }
            : { k: 'sel', obj: node, field: unescapeField(name) };
      } else if (this.peek() === '[') {
        this.next();
        const index = this.expr();
        this.expect(']');
        node = { k: 'idx', obj: node, index };
      } else {
        return node;
      }
    }
  }

  private args(): Node[] {
    this.expect('(');
    const args: Node[] = [];
    while (this.peek() !== ')') {
      args.push(this.expr());
      if (this.peek() === ',') this.next();
    }
    this.next();
    return args;
  }

  private primary(): Node {
    const token = this.next();
    if (/^\d/.test(token)) return { k: 'lit', v: Number(token) };
    if (/^["']/.test(token))
      return { k: 'lit', v: JSON.parse(`"${token.slice(1, -1).replace(/"/g, '\\"')}"`) as string };
    const literals: Record<string, unknown> = { true: true, false: false, null: null };
    if (token in literals) return { k: 'lit', v: literals[token] };
    if (token === '(') {
      const inner = this.expr();
      this.expect(')');
      return inner;
    }
    if (token === '[') return this.listLiteral();
    if (token === '{') return this.mapLiteral();
    if (!/^[A-Za-z_]/.test(token)) throw new Unsupported(`unexpected ${token}`);
    if (this.peek() === '(') {
      return { k: 'call', fn: token, args: this.args() };
    }
    return { k: 'id', name: token };
  }

  private listLiteral(): Node {
    const items: Node[] = [];
    while (this.peek() !== ']') {
      items.push(this.expr());
      if (this.peek() === ',') this.next();
    }
    this.next();
    return { k: 'list', items };
  }

  private mapLiteral(): Node {
    const entries: [Node, Node][] = [];
    while (this.peek() !== '}') {
      const key = this.expr();
      this.expect(':');
      entries.push([key, this.expr()]);
      if (this.peek() === ',') this.next();
    }
    this.next();
    return { k: 'map', entries };
  }
}

type Scope = Record<string, unknown>;

function sizeOf(value: unknown): number {
  if (typeof value === 'string') return [...value].length;
  if (Array.isArray(value)) return value.length;
  if (isRecord(value)) return Object.keys(value).length;
  throw new EvalError('no such overload: size');
}

function compare(op: string, a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string'))
    throw new EvalError(`no such overload: ${op}`);
  const x = a;
  const y = b as number | string;
  const results: Record<string, boolean> = { '<': x < y, '<=': x <= y, '>': x > y, '>=': x >= y };
  return results[op] ?? false;
}

function concatenate(a: unknown, b: unknown): unknown {
  if (typeof a === 'string' && typeof b === 'string') return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  return undefined;
}

function arithmetic(op: string, a: unknown, b: unknown): unknown {
  const joined = op === '+' ? concatenate(a, b) : undefined;
  if (joined !== undefined) return joined;
  if (typeof a !== 'number' || typeof b !== 'number')
    throw new EvalError(`no such overload: ${op}`);
  if ((op === '/' || op === '%') && b === 0) throw new EvalError('division by zero');
  const ints = Number.isInteger(a) && Number.isInteger(b);
  const results: Record<string, number> = {
    '+': a + b,
    '-': a - b,
    '*': a * b,
    '/': ints ? Math.trunc(a / b) : a / b,
    '%': a % b,
  };
  return results[op];
}

function contains(container: unknown, item: unknown): boolean {
  if (Array.isArray(container)) return container.some((x) => jsonEqual(x, item));
  if (isRecord(container) && typeof item === 'string') return item in container;
  throw new EvalError('no such overload: in');
}

class Evaluator {
  constructor(private readonly scope: Scope) {}

  eval(node: Node): unknown {
    switch (node.k) {
      case 'lit':
        return node.v;
      case 'id':
        return this.lookup(node.name);
      case 'sel':
        return this.select(this.eval(node.obj), node.field);
      case 'idx':
        return this.index(this.eval(node.obj), this.eval(node.index));
      case 'call':
        return this.call(node);
      case 'un':
        return this.unary(node.op, this.eval(node.arg));
      case 'bin':
        return this.binary(node.op, node.left, node.right);
      case 'cond':
      case 'list':
      case 'map':
        return this.composite(node);
    }
  }

  private composite(node: Extract<Node, { k: 'cond' | 'list' | 'map' }>): unknown {
    switch (node.k) {
      case 'cond':
        return this.truthy(this.eval(node.test)) ? this.eval(node.then) : this.eval(node.else);
      case 'list':
        return node.items.map((item) => this.eval(item));
      case 'map':
        return Object.fromEntries(node.entries.map(([k, v]) => [text(this.eval(k)), this.eval(v)]));
    }
  }

  private lookup(name: string): unknown {
    if (!(name in this.scope)) throw new Unsupported(`undeclared reference to '${name}'`);
    return this.scope[name];
  }

  private unary(op: string, value: unknown): unknown {
    if (op === '!') return !this.truthy(value);
    if (typeof value !== 'number') throw new EvalError('no such overload: -');
    return -value;
  }

  private truthy(value: unknown): boolean {
    if (typeof value !== 'boolean')
      throw new EvalError('no matching overload for boolean operator');
    return value;
  }

  private select(obj: unknown, field: string): unknown {
    if (!isRecord(obj) || !(field in obj)) throw new EvalError(`no such key: ${field}`);
    return obj[field];
  }

  private index(obj: unknown, key: unknown): unknown {
    if (Array.isArray(obj) && typeof key === 'number') {
      if (key < 0 || key >= obj.length) throw new EvalError(`index out of range: ${key}`);
      return obj[key];
    }
    return this.select(obj, text(key));
  }

  private binary(op: string, left: Node, right: Node): unknown {
    if (op === '&&') return this.truthy(this.eval(left)) && this.truthy(this.eval(right));
    if (op === '||') return this.truthy(this.eval(left)) || this.truthy(this.eval(right));
    const a = this.eval(left);
    const b = this.eval(right);
    if (op === '==') return jsonEqual(a, b);
    if (op === '!=') return !jsonEqual(a, b);
    if (op === 'in') return contains(b, a);
    if (['<', '<=', '>', '>='].includes(op)) return compare(op, a, b);
    return arithmetic(op, a, b);
  }

  private call(node: Extract<Node, { k: 'call' }>): unknown {
    if (node.fn === 'has') return this.has(node.args[0]);
    if (['all', 'exists', 'exists_one', 'map', 'filter'].includes(node.fn)) return this.macro(node);
    const target = node.target ? this.eval(node.target) : undefined;
    const args = node.args.map((a) => this.eval(a));
    return callFunction(node.fn, target, args, node.target !== undefined);
  }

  private has(arg: Node | undefined): boolean {
    if (arg?.k !== 'sel') throw new Unsupported('has() needs a field selection');
    const obj = this.eval(arg.obj);
    return isRecord(obj) && arg.field in obj;
  }

  private macro(node: Extract<Node, { k: 'call' }>): unknown {
    const [variable, body] = node.args;
    if (!node.target || variable?.k !== 'id' || !body)
      throw new Unsupported(`bad macro ${node.fn}`);
    const target = this.eval(node.target);
    const items = Array.isArray(target) ? target : isRecord(target) ? Object.keys(target) : [];
    const run = (item: unknown): unknown =>
      new Evaluator({ ...this.scope, [variable.name]: item }).eval(body);
    switch (node.fn) {
      case 'all':
        return items.every((i) => this.truthy(run(i)));
      case 'exists':
        return items.some((i) => this.truthy(run(i)));
      case 'exists_one':
        return items.filter((i) => this.truthy(run(i))).length === 1;
      case 'map':
        return items.map(run);
      default:
        return items.filter((i) => this.truthy(run(i)));
    }
  }
}

const STRING_FUNCTIONS: Record<string, (s: string, arg: unknown) => unknown> = {
  startsWith: (s, a) => s.startsWith(text(a)),
  endsWith: (s, a) => s.endsWith(text(a)),
  contains: (s, a) => s.includes(text(a)),
  matches: (s, a) => new RegExp(text(a), 'u').test(s),
  lowerAscii: (s) => s.toLowerCase(),
  upperAscii: (s) => s.toUpperCase(),
  trim: (s) => s.trim(),
};

function callFunction(fn: string, target: unknown, args: unknown[], isMethod: boolean): unknown {
  const subject = isMethod ? target : args[0];
  const rest = isMethod ? args : args.slice(1);
  if (fn === 'size') return sizeOf(subject);
  if (fn === 'int') return Math.trunc(Number(subject));
  if (fn === 'double') return Number(subject);
  if (fn === 'string') return typeof subject === 'string' ? subject : JSON.stringify(subject);
  const stringFn = STRING_FUNCTIONS[fn];
  if (stringFn && typeof subject === 'string') return stringFn(subject, rest[0]);
  throw new Unsupported(`function ${fn}`);
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (isRecord(value)) return 'object';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const REASONS: Record<string, string> = {
  FieldValueForbidden: 'FieldValueForbidden',
  FieldValueRequired: 'FieldValueRequired',
  FieldValueDuplicate: 'FieldValueDuplicate',
};

function checkRule(
  rule: ValidationRule,
  self: unknown,
  oldSelf: unknown,
  path: string,
): FieldError | undefined {
  const transition = /\boldSelf\b/.test(rule.rule);
  if (transition && oldSelf === undefined) return undefined;
  const field = rule.fieldPath ? `${path}${rule.fieldPath}` : path;
  const reason = REASONS[rule.reason ?? ''] ?? 'FieldValueInvalid';
  try {
    const result = new Evaluator({ self, oldSelf }).eval(new Parser(tokenize(rule.rule)).parse());
    if (result === true) return undefined;
    const message = rule.message ?? `failed rule: ${rule.rule}`;
    return fieldError(reason, field, `Invalid value: "${typeName(self)}": ${message}`);
  } catch (error) {
    if (error instanceof EvalError) {
      return fieldError(
        reason,
        field,
        `Invalid value: "${typeName(self)}": ${error.message} evaluating rule: ${rule.rule}`,
      );
    }
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

function childSchemas(
  schema: StructuralSchema,
  value: unknown,
): [string, StructuralSchema, unknown][] {
  if (Array.isArray(value) && schema.items)
    return value.map((v, i): [string, StructuralSchema, unknown] => [`[${i}]`, schema.items!, v]);
  if (!isRecord(value)) return [];
  const extra = isRecord(schema.additionalProperties)
    ? (schema.additionalProperties as StructuralSchema)
    : undefined;
  return Object.entries(value).flatMap(([key, v]): [string, StructuralSchema, unknown][] => {
    const child = schema.properties?.[key] ?? extra;
    return child ? [[`.${key}`, child, v]] : [];
  });
}

function walk(
  value: unknown,
  old: unknown,
  schema: StructuralSchema,
  path: string,
  errors: FieldError[],
): void {
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    const error = checkRule(rule, value, old, path);
    if (error) errors.push(error);
  }
  for (const [suffix, child, childValue] of childSchemas(schema, value)) {
    const oldChild = suffix.startsWith('.') && isRecord(old) ? old[suffix.slice(1)] : undefined;
    const childPath = path ? `${path}${suffix}` : suffix.replace(/^\./, '');
    walk(childValue, oldChild, child, childPath, errors);
  }
}

/**
 * Evaluates `x-kubernetes-validations` (CEL) rules over an object, with `oldSelf` on updates.
 * A subset of CEL is understood: literals, `self`/`oldSelf`, field access, `has()`, `size()`,
 * logical, comparison and arithmetic operators, `in`, `?:`, string functions (`startsWith`,
 * `endsWith`, `contains`, `matches`…) and the `all`/`exists`/`exists_one`/`map`/`filter` macros.
 * Rules using anything else are skipped. Transition rules (with `oldSelf`) run only on updates,
 * and list items are not correlated with their old values.
 */
export function validateRules(obj: unknown, old: unknown, schema: StructuralSchema): FieldError[] {
  const errors: FieldError[] = [];
  walk(obj, old, schema, '', errors);
  return errors;
}

/** Evaluates one CEL expression (exposed for tests); throws on unsupported syntax. */
export function evaluateCel(expression: string, scope: Scope): unknown {
  return new Evaluator(scope).eval(new Parser(tokenize(expression)).parse());
}
