import { createHash } from 'node:crypto';
import { constants, stat as statCallback } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import { boundText, parseBackupPolicy, type FieldError, type PolicyContext } from '#lib/policy';
import { policyKeyOf, type DesiredPolicies, type PolicySource } from '#lib/engine';

const POLICY_FILE = /\.ya?ml$/;

/** Files stat'ed, read and parsed at once: enough to keep the thread pool busy, no more. */
const LOAD_CONCURRENCY = 16;

/** Largest policy file read; a policy is a few hundred bytes, a bigger file is refused unread. */
export const POLICY_FILE_MAX_BYTES = 1024 * 1024;

/** Aliases one document may expand; a "billion laughs" document needs far more. */
const MAX_ALIAS_COUNT = 100;

/** Reads a policy file's text; replaceable so that tests can fail reads a root process passes. */
export type PolicyFileReader = (path: string) => Promise<string>;

/** Options of {@link PolicyFileSource}. */
export interface PolicyFileSourceOptions {
  logger?: Logger;
  read?: PolicyFileReader;
  maxBytes?: number;
  /**
   * How long a file's metadata must have stood still before an unchanged stamp is trusted
   * (default 2 s): a write in the same timestamp granule as the read leaves the stamp as it was.
   */
  settledMs?: number;
  /**
   * While the folder watch is running and has seen nothing, a load answers what the last one
   * read, without touching the folder, unless that was longer ago than this (default 5
   * minutes): a change no watch sees (a mode change, a network filesystem written by another
   * host) is read within this time.
   */
  sweepEveryMs?: number;
}

/** O_NONBLOCK: a FIFO that appears between the check and the read cannot block the pass. */
const readText: PolicyFileReader = (path) =>
  readFile(path, { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NONBLOCK });

/** What one file's text parsed to: its documents' definitions and its problems. */
interface ParsedFile {
  problems: DesiredPolicies['problems'];
  definitions: Definition[];
}

type Definition = { key: string; source: string } & (
  { ok: true; policy: Parameters<typeof policyKeyOf>[0] } | { ok: false; errors: FieldError[] }
);

/**
 * Local mode's policy source: the YAML files of one folder (several documents per file
 * allowed), in the same apiVersion/kind/metadata/spec shape as the custom resource. Nothing in
 * the folder is silently ignored or takes the process down: a file that cannot be read (a
 * dangling symlink, a symlink loop, a directory or FIFO named `*.yaml`, no permission, over
 * {@link POLICY_FILE_MAX_BYTES}), parsed (including alias bombs) or validated, or that holds
 * no document (emptied), becomes a problem naming the file and the field, and the last valid
 * version of its policies keeps running. A `namespace/name` defined by more than one document is a conflict: every defining
 * document is reported and none of them is applied, so the version applied before keeps
 * running, whichever file sorts first.
 */
export class PolicyFileSource implements PolicySource {
  private watcher?: FSWatcher;
  private readonly read: PolicyFileReader;
  /**
   * What each file parsed to, by source, with the hash of the text it was parsed from and,
   * once the file has stood still for a while, the stamp of its metadata then.
   */
  private parsed = new Map<string, ParsedEntry>();
  private nextParsed = new Map<string, ParsedEntry>();
  private readonly maxBytes: number;
  /** The watch is running and has reported nothing since the last load began. */
  private quiet = false;
  /** What the last load read, when every file in it was read whole and had stood still. */
  private last?: { desired: DesiredPolicies; at: number };
  /** The watch has finished its first scan: from then on it reports every change it sees. */
  private watching = false;
  /** A load has ended: a watch asked for starts at once rather than after it. */
  private loadedOnce = false;
  private deferredWatch?: () => void;

  constructor(
    private readonly dir: string,
    private readonly context: PolicyContext,
    private readonly options: PolicyFileSourceOptions = {},
  ) {
    this.read = options.read ?? readText;
    this.maxBytes = options.maxBytes ?? POLICY_FILE_MAX_BYTES;
  }

  async load(progress?: (read: number, total: number) => void): Promise<DesiredPolicies> {
    const last = this.last;
    if (this.quiet && last && Date.now() - last.at < (this.options.sweepEveryMs ?? 300_000)) {
      return last.desired;
    }
    try {
      return await this.sweep(progress);
    } finally {
      this.loadedOnce = true;
      const start = this.deferredWatch;
      this.deferredWatch = undefined;
      start?.();
    }
  }

  /** Reads the folder: every file whose stamp moved since it was read, in file order. */
  private async sweep(progress?: (read: number, total: number) => void): Promise<DesiredPolicies> {
    // An event from here on is for the next load: this one may have read before it.
    this.quiet = this.watcher !== undefined && this.watching;
    const at = Date.now();
    const files = await this.files();
    this.nextParsed = new Map();
    let read = 0;
    // In file order whatever order the reads end in: conflicts and problems read the same.
    const loaded = await mapBounded(files, LOAD_CONCURRENCY, async (file) => {
      const path = join(this.dir, file);
      const parsed = await this.loadFile(path, `file:${relative(process.cwd(), path) || file}`);
      progress?.(++read, files.length);
      return parsed;
    });
    this.parsed = this.nextParsed;
    const desired: DesiredPolicies = { policies: [], problems: [] };
    const definitions: Definition[] = [];
    for (const file of loaded) {
      if (!file) continue;
      for (const problem of file.problems) desired.problems.push(problem);
      for (const definition of file.definitions) definitions.push(definition);
    }
    settleDefinitions(definitions, desired);
    // Reused only if every file was read and had stood still: anything else is read again.
    const steady =
      files.length === this.parsed.size && [...this.parsed.values()].every((e) => e.stamp);
    this.last = steady ? { desired, at } : undefined;
    return desired;
  }

  /**
   * Calls `onChange` (debounced) whenever a policy file is added, changed or removed. A watcher
   * error (e.g. a symlink loop) is logged and answered with a pass, which reports the file.
   */
  watch(onChange: () => void, debounceMs = 200): void {
    // The watch's first scan stats every file once more: it waits for the first load to end
    // rather than slow it down, and passes again once it stands (see `startWatch`).
    if (this.loadedOnce) this.startWatch(onChange, debounceMs);
    else this.deferredWatch = () => this.startWatch(onChange, debounceMs);
  }

  private startWatch(onChange: () => void, debounceMs: number): void {
    let timer: NodeJS.Timeout | undefined;
    const changed = () => {
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    };
    this.watcher = watch(this.dir, { ignoreInitial: true, depth: 0 });
    // Once the watch stands, a pass reads what changed while it was being set up.
    this.watcher.on('ready', () => {
      this.watching = true;
      changed();
    });
    this.watcher.on('all', (_event, path) => {
      this.quiet = false;
      if (POLICY_FILE.test(path)) changed();
    });
    this.watcher.on('error', (error) => {
      this.quiet = false;
      const err = boundText(error instanceof Error ? error.message : String(error));
      this.options.logger?.warn({ dir: this.dir, err }, 'policy folder watch error');
      changed();
    });
  }

  async close(): Promise<void> {
    this.deferredWatch = undefined;
    this.quiet = false;
    this.watching = false;
    await this.watcher?.close();
  }

  private async files(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((f) => POLICY_FILE.test(f)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** What one file holds now, or undefined when it was removed between listing and reading. */
  private async loadFile(path: string, source: string): Promise<ParsedFile | undefined> {
    const stamp = await stampOf(path);
    const known = this.parsed.get(source);
    if (stamp !== undefined && known?.stamp === stamp.stamp) {
      // Same inode, size, mtime and ctime as when it was read: the text has not changed.
      this.nextParsed.set(source, known);
      return known.result;
    }
    const text = await this.readPolicyFile(path, stamp?.size);
    if (text === undefined) return undefined;
    if (typeof text !== 'string')
      return { problems: [{ source, errors: [text] }], definitions: [] };
    // An unchanged file is not parsed again on every resync (a hostile one costs seconds).
    const hash = createHash('sha256').update(text).digest('hex');
    const cached = this.parsed.get(source);
    const result = cached?.hash === hash ? cached.result : this.parseFile(text, source);
    this.nextParsed.set(source, {
      hash,
      result,
      stamp: settled(stamp, this.options.settledMs ?? 2000),
    });
    return result;
  }

  private parseFile(text: string, source: string): ParsedFile {
    const result: ParsedFile = { problems: [], definitions: [] };
    try {
      this.parseDocuments(text, source, result);
    } catch (error) {
      // Whatever the YAML holds, it is this file's problem, never the pass's.
      const message = boundText(error instanceof Error ? error.message : String(error));
      return { problems: [{ source, errors: [{ field: '(yaml)', message }] }], definitions: [] };
    }
    return result;
  }

  /** The file's text, a problem saying why it cannot be read, or undefined when it is gone. */
  private async readPolicyFile(
    path: string,
    regularFileSize?: number,
  ): Promise<string | FieldError | undefined> {
    // Just stat'ed as a regular file: read it at once, and ask why only if that fails.
    if (regularFileSize !== undefined && regularFileSize <= this.maxBytes) {
      const text = await this.readBounded(path).catch(() => undefined);
      if (text !== undefined) return text;
    }
    return this.readCarefully(path);
  }

  /** The text, or a problem when it is over the limit after all; throws when it cannot be read. */
  private async readBounded(path: string): Promise<string | FieldError> {
    const text = await this.read(path);
    if (text.length > this.maxBytes)
      return { field: '(file)', message: `more than ${this.maxBytes} bytes` };
    return text;
  }

  /** Each check in turn, so that a file that cannot be read says why. */
  private async readCarefully(path: string): Promise<string | FieldError | undefined> {
    const problem = (message: string): FieldError => ({ field: '(file)', message });
    const entry = await lstat(path).catch(() => undefined);
    if (!entry) return undefined;
    try {
      const target = await stat(path);
      if (!target.isFile()) return problem(`not a regular file (${fileType(target)})`);
      if (target.size > this.maxBytes) {
        return problem(
          `${target.size} bytes, more than the ${this.maxBytes} a policy file may have`,
        );
      }
      return await this.readBounded(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && entry.isSymbolicLink()) {
        const to = await readlink(path).catch(() => '?');
        return problem(`dangling symlink to ${boundText(to, 200)}`);
      }
      if (code === 'ELOOP') return problem('symlink loop');
      const message = error instanceof Error ? error.message : String(error);
      return problem(`cannot read: ${boundText(message, 200)}`);
    }
  }

  private parseDocuments(text: string, source: string, out: ParsedFile): void {
    const documents = parseAllDocuments(text);
    let found = 0;
    for (const [index, document] of documents.entries()) {
      const where = documents.length > 1 ? `${source}#${index + 1}` : source;
      if (document.errors.length > 0) {
        const message = boundText(document.errors[0]?.message ?? 'invalid YAML');
        out.problems.push({ source: where, errors: [{ field: '(yaml)', message }] });
        continue;
      }
      const content: unknown = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      if (content === null || content === undefined) continue;
      found++;
      this.define(content, where, out);
    }
    // An emptied file (a truncated write, an editor crash) must not remove its policies quietly.
    if (found === 0 && documents.every((d) => d.errors.length === 0)) {
      out.problems.push({ source, errors: [{ field: '(file)', message: 'holds no policy' }] });
    }
  }

  /** One document: a definition of its key (valid or not), or a problem when it has no key. */
  private define(content: unknown, source: string, out: ParsedFile): void {
    const parsed = parseBackupPolicy(content, this.context);
    if (parsed.ok) {
      out.definitions.push({
        ok: true,
        key: policyKeyOf(parsed.policy),
        source,
        policy: parsed.policy,
      });
      return;
    }
    const key = keyOf(content);
    if (key) out.definitions.push({ ok: false, key, source, errors: parsed.errors });
    else out.problems.push({ source, errors: parsed.errors });
  }
}

interface ParsedEntry {
  hash: string;
  result: ParsedFile;
  stamp?: string;
}

/**
 * The metadata of a file (through a symlink: of its target, so a re-pointed link changes it
 * too), which changes with every write, rename or swap; and when it last changed.
 */
function stampOf(
  path: string,
): Promise<{ stamp: string; changedAt: number; size: number } | undefined> {
  // The callback form: a resync stats every file, and fs/promises costs several times more.
  return new Promise((resolve) =>
    statCallback(path, (error, s) => {
      if (error || !s.isFile()) return resolve(undefined);
      resolve({
        stamp: `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`,
        changedAt: Math.max(s.mtimeMs, s.ctimeMs),
        size: s.size,
      });
    }),
  );
}

/** The stamp taken before a read, if the file had stood still long enough to trust it. */
function settled(
  taken: { stamp: string; changedAt: number } | undefined,
  settledMs: number,
): string | undefined {
  return taken && Date.now() - taken.changedAt >= settledMs ? taken.stamp : undefined;
}

/**
 * Valid definitions become policies and invalid ones problems (keeping their key, so the last
 * valid version keeps running); a key defined more than once is a conflict on every definition.
 */
function settleDefinitions(definitions: Definition[], desired: DesiredPolicies): void {
  const byKey = new Map<string, Definition[]>();
  for (const d of definitions) byKey.set(d.key, [...(byKey.get(d.key) ?? []), d]);
  for (const [key, defs] of byKey) {
    for (const d of defs) {
      const others = defs.filter((o) => o !== d).map((o) => o.source);
      const conflict: FieldError[] = others.length
        ? [
            {
              field: 'metadata.name',
              message:
                `policy ${key} is also defined in ${others.join(', ')}: none of these ` +
                'definitions is applied until only one remains',
            },
          ]
        : [];
      if (d.ok && conflict.length === 0)
        desired.policies.push({ policy: d.policy, source: d.source });
      else
        desired.problems.push({
          source: d.source,
          key,
          errors: [...conflict, ...(d.ok ? [] : d.errors)],
        });
    }
  }
}

/** `work` over `items` with at most `limit` at once; the results in the order of `items`. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

function fileType(s: Awaited<ReturnType<typeof stat>>): string {
  if (s.isDirectory()) return 'directory';
  if (s.isFIFO()) return 'FIFO';
  if (s.isSocket()) return 'socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'device';
  return 'special file';
}

/** The key an invalid document would have had, so that its last valid version keeps running. */
function keyOf(content: unknown): string | undefined {
  if (typeof content !== 'object' || content === null) return undefined;
  const metadata = (content as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
  if (typeof metadata?.name !== 'string') return undefined;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
  return `${namespace}/${metadata.name}`;
}
