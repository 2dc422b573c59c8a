import { ApiBackend } from './api-backend.js';
import type { RequestBackend } from './backend.js';
import { cliConnection } from './cli-config.js';
import { CliError, EXIT } from './exit-codes.js';
import type { CommonOptions, KubeOptions } from './options.js';

/** Whether the command runs in kube mode (`--kube`, or implied by `--kubeconfig`). */
export function kubeMode(options: KubeOptions): boolean {
  return options.kube === true || options.kubeconfig !== undefined;
}

/**
 * The backend the flags ask for: the REST API at `apiPath`, or (`--kube`/`--kubeconfig`) the
 * custom resource of `kind`. Mixing the two modes' flags is a usage error. The Kubernetes
 * client is loaded only in kube mode: it takes most of a second to load.
 */
export async function selectBackend<Spec, S>(
  options: CommonOptions & KubeOptions,
  apiPath: string,
  kind: 'snapshot' | 'restore',
): Promise<RequestBackend<Spec, S>> {
  if (!kubeMode(options)) {
    if (options.context !== undefined) {
      throw new CliError('--context selects a kubeconfig context: give --kube too', EXIT.usage);
    }
    return new ApiBackend<Spec, S>(cliConnection(options), apiPath);
  }
  if (options.server !== undefined || options.token !== undefined) {
    throw new CliError(
      '--kube creates the resource through the Kubernetes API; --server and --token are for ' +
        'the snapwarden API: give one or the other',
      EXIT.usage,
    );
  }
  const [{ KubeBackend, REQUEST_KINDS }, { cliKubeConfig }] = await Promise.all([
    import('./kube-backend.js'),
    import('./kube-config.js'),
  ]);
  const type = REQUEST_KINDS[kind] as unknown as ConstructorParameters<
    typeof KubeBackend<Spec, S>
  >[1];
  return new KubeBackend<Spec, S>(cliKubeConfig(options), type);
}
