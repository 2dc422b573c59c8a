import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { parseAllDocuments } from 'yaml';
import { parseBackupPolicy, type PolicyContext } from '#lib/policy';
import { policyKeyOf, type DesiredPolicies, type PolicySource } from '#lib/engine';

const POLICY_FILE = /\.ya?ml$/;

/**
 * Local mode's policy source: the YAML files of one folder (several documents per file
 * allowed), in the same apiVersion/kind/metadata/spec shape as the custom resource. A file that
 * fails to parse or validate becomes a problem naming the file and the field; the others load.
 */
export class PolicyFileSource implements PolicySource {
  private watcher?: FSWatcher;

  constructor(
    private readonly dir: string,
    private readonly context: PolicyContext,
  ) {}

  async load(): Promise<DesiredPolicies> {
    const desired: DesiredPolicies = { policies: [], problems: [] };
    const seen = new Map<string, string>();
    for (const file of await this.files()) {
      const source = `file:${relative(process.cwd(), join(this.dir, file)) || file}`;
      await this.loadFile(join(this.dir, file), source, desired, seen);
    }
    return desired;
  }

  /** Calls `onChange` (debounced) whenever a policy file is added, changed or removed. */
  watch(onChange: () => void, debounceMs = 200): void {
    let timer: NodeJS.Timeout | undefined;
    this.watcher = watch(this.dir, { ignoreInitial: true, depth: 0 });
    this.watcher.on('all', (_event, path) => {
      if (!POLICY_FILE.test(path)) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
  }

  async close(): Promise<void> {
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

  private async loadFile(
    path: string,
    source: string,
    desired: DesiredPolicies,
    seen: Map<string, string>,
  ): Promise<void> {
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) return; // removed between listing and reading
    const documents = parseAllDocuments(text);
    for (const [index, document] of documents.entries()) {
      const where = documents.length > 1 ? `${source}#${index + 1}` : source;
      if (document.errors.length > 0) {
        const message = document.errors[0]?.message ?? 'invalid YAML';
        desired.problems.push({ source: where, errors: [{ field: '(yaml)', message }] });
        continue;
      }
      const content: unknown = document.toJS();
      if (content === null || content === undefined) continue;
      this.accept(content, where, desired, seen);
    }
  }

  private accept(
    content: unknown,
    source: string,
    desired: DesiredPolicies,
    seen: Map<string, string>,
  ): void {
    const parsed = parseBackupPolicy(content, this.context);
    if (!parsed.ok) {
      desired.problems.push({ source, key: keyOf(content), errors: parsed.errors });
      return;
    }
    const key = policyKeyOf(parsed.policy);
    const first = seen.get(key);
    if (first) {
      desired.problems.push({
        source,
        errors: [
          { field: 'metadata.name', message: `policy ${key} is already defined in ${first}` },
        ],
      });
      return;
    }
    seen.set(key, source);
    desired.policies.push({ policy: parsed.policy, source });
  }
}

/** The key an invalid document would have had, so that its last valid version keeps running. */
function keyOf(content: unknown): string | undefined {
  if (typeof content !== 'object' || content === null) return undefined;
  const metadata = (content as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
  if (typeof metadata?.name !== 'string') return undefined;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
  return `${namespace}/${metadata.name}`;
}
