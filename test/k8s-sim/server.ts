import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { preinstalledCrds } from './builtin-crds.js';
import { builtinResources } from './builtins.js';
import { crdResourceType, loadCrdsFromDir } from './crd.js';
import { CrdController } from './crd-controller.js';
import { CsiSnapshotter } from './csi-snapshotter.js';
import { ExecSimulator } from './exec.js';
import { FaultInjector } from './faults.js';
import { LifecycleController } from './lifecycle-controller.js';
import { type DriverRules, FakeStorageProvider } from './provider.js';
import { Provisioner } from './provisioner.js';
import { RestoreController } from './restore-controller.js';
import { SnapshotController } from './snapshot-controller.js';
import { WorkloadController } from './workload-controller.js';
import { ApiHandler } from './handlers.js';
import { type KubeconfigOptions, renderKubeconfig, writeKubeconfigFile } from './kubeconfig.js';
import { RequestLog } from './request-log.js';
import { ResourceRegistry } from './resources.js';
import { SimStore, SYSTEM_NAMESPACES } from './sim-store.js';
import { ObjectStore } from './store.js';

/** Options of {@link startKubeSim}. */
export interface KubeSimOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Delay before a dynamically created VolumeSnapshot becomes ready (default 200 ms). */
  snapshotReadyDelayMs?: number;
  /** Delay before a claim is provisioned and bound (default 50 ms). */
  provisionDelayMs?: number;
  /** Delay before a LocalVolumeSnapshotRestore completes (default 100 ms). */
  restoreDelayMs?: number;
  /** Watch events retained per resource; older resourceVersions get 410 Gone (default 1000). */
  watchHistoryLimit?: number;
  /** Interval of BOOKMARK events on watches that allow them (default 1000 ms; a real server: ~1 min). */
  bookmarkIntervalMs?: number;
  /** Directories of CRD manifests to register at start. */
  crdDirs?: string[];
  /** Time a pod of a scaled-down Deployment/StatefulSet takes to terminate (default 100 ms). */
  podStopDelayMs?: number;
  /** Per-driver provider rules, merged over the defaults (`disk.csi.everest.io`: cap 7, equal-capacity restores). */
  drivers?: Record<string, DriverRules>;
}

/** A running simulator. */
export interface KubeSim {
  /** Base URL, e.g. `http://127.0.0.1:34567`. */
  url: string;
  /** Kubeconfig YAML pointing at the simulator. */
  kubeconfig(options?: KubeconfigOptions): string;
  /** Writes {@link kubeconfig} to a file. */
  writeKubeconfig(path: string, options?: KubeconfigOptions): Promise<void>;
  /** Direct access to objects with full API semantics (seed, inspect). */
  store: SimStore;
  /** The resources currently served (built-ins and CRDs). */
  registry: ResourceRegistry;
  faults: FaultInjector;
  requestLog: RequestLog;
  /** The fake storage backend (disks and snapshots) behind the CSI drivers. */
  provider: FakeStorageProvider;
  /** `pods/exec` sessions: per-test results (`respond`) and what was run (`calls`). */
  exec: ExecSimulator;
  /** Registers the CRDs of a directory (create or update). */
  loadCrdsFromDir(dir: string): Promise<string[]>;
  /** Stops controllers, ends watches and closes the server. */
  stop(): Promise<void>;
}

/** Something with a lifecycle that reacts to store events. */
export interface Controller {
  start(): void;
  stop(): void;
}

/** The in-process cluster behind the HTTP server. */
export interface Cluster {
  store: SimStore;
  registry: ResourceRegistry;
  faults: FaultInjector;
  provider: FakeStorageProvider;
  controllers: Controller[];
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Builds the store, registry and controllers without any HTTP (used by {@link startKubeSim}). */
export function createCluster(options: KubeSimOptions = {}): Cluster {
  const objects = new ObjectStore(options.watchHistoryLimit ?? 1000);
  const registry = new ResourceRegistry();
  for (const rt of builtinResources(objects)) registry.register(rt);
  registry.register(crdResourceType());
  const store = new SimStore(registry, objects);
  const faults = new FaultInjector(objects);
  const provider = new FakeStorageProvider(options.drivers);
  const snapshots = new SnapshotController(store, faults);
  const sidecar = new CsiSnapshotter(store, provider, faults, {
    readyDelayMs: options.snapshotReadyDelayMs ?? 200,
  });
  const controllers: Controller[] = [
    new CrdController(store),
    new LifecycleController(store),
    snapshots,
    sidecar,
    new Provisioner(store, provider, { provisionDelayMs: options.provisionDelayMs ?? 50 }),
    new RestoreController(store, provider, { restoreDelayMs: options.restoreDelayMs ?? 100 }),
    new WorkloadController(store, { podStopDelayMs: options.podStopDelayMs ?? 100 }),
  ];
  controllers.forEach((c) => c.start());
  faults.onRelease(() => {
    snapshots.resync();
    sidecar.resync();
  });
  const nsType = registry.get('', 'namespaces');
  for (const name of SYSTEM_NAMESPACES)
    if (nsType) store.create(nsType, undefined, { metadata: { name } });
  const crdType = crdResourceType();
  for (const crd of preinstalledCrds()) store.create(crdType, undefined, crd);
  return { store, registry, faults, provider, controllers };
}

/**
 * Starts the Kubernetes API-server simulator on loopback: discovery, CRUD, watch, CRDs, the
 * snapshot controller and provisioner, fault injection and a request log.
 */
export async function startKubeSim(options: KubeSimOptions = {}): Promise<KubeSim> {
  const { store, registry, faults, provider, controllers } = createCluster(options);
  const requestLog = new RequestLog();
  const handler = new ApiHandler({
    store,
    registry,
    faults,
    log: requestLog,
    watch: { bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000 },
  });
  const exec = new ExecSimulator(store, requestLog);
  const server = createServer((req, res) => void handler.handle(req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => exec.handleUpgrade(req, socket));
  server.keepAliveTimeout = 60_000;
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  const url = `http://${host}:${port}`;
  for (const dir of options.crdDirs ?? []) await loadCrdsFromDir(store, dir);
  return {
    url,
    store,
    registry,
    faults,
    requestLog,
    provider,
    exec,
    kubeconfig: (kc) => renderKubeconfig(url, kc),
    writeKubeconfig: (path, kc) => writeKubeconfigFile(path, url, kc),
    loadCrdsFromDir: (dir) => loadCrdsFromDir(store, dir),
    async stop() {
      controllers.forEach((c) => c.stop());
      faults.dropWatches('graceful');
      exec.closeAll();
      await close(server);
    },
  };
}
