import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

/** Options of a generated kubeconfig. */
export interface KubeconfigOptions {
  /** Default namespace of the context (default `default`). */
  namespace?: string;
  /** Context, cluster and user name (default `k8s-sim`). */
  name?: string;
}

/**
 * A kubeconfig for the simulator: plain http with `insecure-skip-tls-verify` (which
 * `@kubernetes/client-node` requires for http URLs) and a dummy bearer token.
 */
export function renderKubeconfig(server: string, options: KubeconfigOptions = {}): string {
  const name = options.name ?? 'k8s-sim';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name, user: { token: 'k8s-sim-token' } }],
    contexts: [
      { name, context: { cluster: name, user: name, namespace: options.namespace ?? 'default' } },
    ],
    'current-context': name,
    preferences: {},
  });
}

/** Writes {@link renderKubeconfig} to a file (mode 0600, as kubectl expects). */
export async function writeKubeconfigFile(
  path: string,
  server: string,
  options: KubeconfigOptions = {},
): Promise<void> {
  await writeFile(path, renderKubeconfig(server, options), { mode: 0o600 });
}
