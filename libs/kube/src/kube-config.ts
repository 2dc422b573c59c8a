import type { KubeConfig } from '@kubernetes/client-node';
import { clientNode } from './client-node.js';

/** Where the Kubernetes connection comes from; environment-derived values are passed in. */
export interface LoadKubeConfigOptions {
  /** An explicit kubeconfig file; wins over everything else. */
  kubeconfigPath?: string;
  /** True when running in a pod (`KUBERNETES_SERVICE_HOST` is set); read by libs/config. */
  inCluster?: boolean;
}

/**
 * Loads the connection settings: the given kubeconfig file; else the pod's service account
 * when running in a cluster; else client-node's default loading rules (`$KUBECONFIG`,
 * `~/.kube/config`).
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const kc = new (clientNode().KubeConfig)();
  if (options.kubeconfigPath !== undefined && options.kubeconfigPath !== '') {
    kc.loadFromFile(options.kubeconfigPath);
  } else if (options.inCluster === true) {
    kc.loadFromCluster();
  } else {
    kc.loadFromDefault();
  }
  return kc;
}
