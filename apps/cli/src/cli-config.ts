import { loadKubeConfig, type KubeConfig } from '#lib/kube';
import { CliError, EXIT } from './exit-codes.js';

/** Where the CLI finds the API, from flags first and then the environment. */
export interface CliConnection {
  server: string;
  token?: string;
}

/** The default API address (local mode's `npm start`). */
export const DEFAULT_SERVER = 'http://localhost:8080';

/**
 * The one place the CLI reads the environment: `SNAPWARDEN_SERVER` and `SNAPWARDEN_API_TOKEN`,
 * each overridden by its flag (`--server`, `--token`).
 */
export function cliConnection(flags: { server?: string; token?: string }): CliConnection {
  return {
    server: (flags.server ?? process.env.SNAPWARDEN_SERVER ?? DEFAULT_SERVER).replace(/\/+$/, ''),
    token: flags.token ?? process.env.SNAPWARDEN_API_TOKEN,
  };
}

/** Whether `--server` or `SNAPWARDEN_SERVER` was given (preview works offline without). */
export function serverGiven(flags: { server?: string }): boolean {
  return flags.server !== undefined || process.env.SNAPWARDEN_SERVER !== undefined;
}

/** Where kube mode finds the cluster (`--kubeconfig`, `--context`). */
export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
}

/**
 * Kube mode's connection: `--kubeconfig`, else the pod's service account when
 * `KUBERNETES_SERVICE_HOST` is set, else `$KUBECONFIG` or `~/.kube/config`; then `--context`.
 * A file or context that cannot be used is a usage error.
 */
export function cliKubeConfig(flags: KubeFlags): KubeConfig {
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig({
      kubeconfigPath: flags.kubeconfig,
      inCluster: (process.env.KUBERNETES_SERVICE_HOST ?? '') !== '',
    });
  } catch (error) {
    const source =
      flags.kubeconfig !== undefined ? `--kubeconfig ${flags.kubeconfig}` : 'kubeconfig';
    throw new CliError(`${source}: ${(error as Error).message}`, EXIT.usage);
  }
  if (flags.context !== undefined) {
    if (kc.getContextObject(flags.context) === null) {
      const known = kc.getContexts().map((c) => c.name);
      throw new CliError(
        `--context ${flags.context}: no such context (known: ${known.join(', ') || 'none'})`,
        EXIT.usage,
      );
    }
    kc.setCurrentContext(flags.context);
  }
  if (kc.getCurrentCluster() === null) {
    throw new CliError('kubeconfig: the current context names no cluster', EXIT.usage);
  }
  return kc;
}
