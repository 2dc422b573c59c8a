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

/** Whether the CLI runs in a pod (`KUBERNETES_SERVICE_HOST` set): kube mode then uses its service account. */
export function inCluster(): boolean {
  return (process.env.KUBERNETES_SERVICE_HOST ?? '') !== '';
}
