import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { startKubeSim } from './server.js';

/**
 * Standalone simulator: `main.ts [port] [kubeconfig-path]` (port also from `SIM_PORT`, default
 * 8443; kubeconfig default `./sim.kubeconfig`). Loads `deploy/crds/` when present.
 */
async function main(): Promise<void> {
  const [portArg, kubeconfigArg] = process.argv.slice(2);
  const port = Number(portArg ?? process.env.SIM_PORT ?? 8443);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`invalid port: ${portArg ?? process.env.SIM_PORT ?? ''}`);
  const kubeconfigPath = resolve(kubeconfigArg ?? './sim.kubeconfig');
  const crdDir = resolve('deploy/crds');
  const sim = await startKubeSim({ port, crdDirs: existsSync(crdDir) ? [crdDir] : [] });
  await sim.writeKubeconfig(kubeconfigPath);
  process.stdout.write(
    `k8s-sim listening on ${sim.url}${existsSync(crdDir) ? ` (CRDs from ${crdDir})` : ''}\n`,
  );
  process.stdout.write(`${sim.kubeconfig()}\nexport KUBECONFIG=${kubeconfigPath}\n`);
  const shutdown = (): void => {
    void sim.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`k8s-sim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
