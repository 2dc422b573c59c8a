import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './kubectl-runner.js';

/** The two variants of the Helm pre-upgrade hook in deploy/hooks/. */
export const HOOKS = {
  api: join(REPO_ROOT, 'deploy', 'hooks', 'pre-upgrade-snapshot.yaml'),
  kube: join(REPO_ROOT, 'deploy', 'hooks', 'pre-upgrade-snapshot-kube.yaml'),
} as const;

/** The three values the hooks use, as `helm template` would fill them in. */
export interface HookValues {
  release: string;
  namespace: string;
  chartVersion: string;
}

export const DEFAULT_VALUES: HookValues = {
  release: 'shop',
  namespace: 'default',
  chartVersion: '2.4.0',
};

/**
 * What `helm template` makes of a hook file. Fails when a template expression other than the
 * three known values is left, so a new placeholder cannot slip through unrendered.
 */
export async function renderHook(
  file: string,
  values: HookValues = DEFAULT_VALUES,
): Promise<string> {
  const text = (await readFile(file, 'utf8'))
    .replaceAll('{{ .Release.Name }}', values.release)
    .replaceAll('{{ .Release.Namespace }}', values.namespace)
    .replaceAll('{{ .Chart.Version }}', values.chartVersion);
  const left = /\{\{[^}]*\}\}/.exec(text);
  if (left) throw new Error(`${file}: unrendered template expression ${left[0]}`);
  return text;
}

/** The subset of the hook manifests the tests look at. */
export interface HookManifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  automountServiceAccountToken?: boolean;
  rules?: {
    apiGroups?: string[];
    resources?: string[];
    verbs?: string[];
    resourceNames?: string[];
  }[];
  roleRef?: { apiGroup: string; kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
  spec?: {
    backoffLimit?: number;
    activeDeadlineSeconds?: number;
    template: { spec: HookPodSpec };
  };
}

export interface HookPodSpec {
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  restartPolicy: string;
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: {
    name: string;
    image: string;
    command: string[];
    env?: { name: string; value?: string; valueFrom?: unknown }[];
    securityContext: {
      allowPrivilegeEscalation?: boolean;
      readOnlyRootFilesystem?: boolean;
      capabilities?: { drop?: string[] };
    };
    resources: unknown;
  }[];
}

/** Parses a rendered hook; a YAML error fails loudly. */
export function hookManifests(rendered: string): HookManifest[] {
  return parseAllDocuments(rendered).map((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
    return doc.toJS() as HookManifest;
  });
}

/** The one manifest of a kind; fails when there is none or several. */
export function onlyOf(manifests: HookManifest[], kind: string): HookManifest {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as HookManifest;
}

/** The Job's pod spec. */
export function jobPod(manifests: HookManifest[]): HookPodSpec {
  const spec = onlyOf(manifests, 'Job').spec;
  if (spec === undefined) throw new Error('the Job has no spec');
  return spec.template.spec;
}

/**
 * The CLI flags of a hook Job's command as flag → values (`--wait` → `[]`), after
 * `node dist/apps/cli/src/main.js snapshot`. Flags are the tokens starting with `-`.
 */
export function cliFlags(command: string[]): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const token of command.slice(3)) {
    if (token.startsWith('-')) {
      if (flags.has(token)) throw new Error(`flag ${token} given twice`);
      current = [];
      flags.set(token, current);
    } else if (current === undefined) {
      throw new Error(`argument ${token} before any flag`);
    } else {
      current.push(token);
    }
  }
  return flags;
}
