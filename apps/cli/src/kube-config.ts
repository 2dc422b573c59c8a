import { loadKubeConfig, type KubeConfig } from '#lib/kube';
import { inCluster } from './cli-config.js';
import { CliError, EXIT } from './exit-codes.js';

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
      inCluster: inCluster(),
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
