/** Public surface of the Kubernetes API-server simulator (a test asset; see README.md). */
export {
  type KubeSim,
  type KubeSimOptions,
  type Cluster,
  startKubeSim,
  createCluster,
} from './server.js';
export { loadCrdsFromDir } from './crd.js';
export { FaultInjector, type FailRule, type FaultStatus } from './faults.js';
export { RequestLog, type RequestRecord, type RequestCounts } from './request-log.js';
export { SimStore, SYSTEM_NAMESPACES } from './sim-store.js';
export { FakeStorageProvider, DEFAULT_DRIVER_RULES, type DriverRules } from './provider.js';
export { MAX_SNAPSHOTS_ANNOTATION, SNAPSHOT_FINALIZERS } from './snapshot-controller.js';
export { RESTORED_FROM_ANNOTATION, RESTORED_FROM_HANDLE_ANNOTATION } from './provisioner.js';
export { renderKubeconfig } from './kubeconfig.js';
export { simClients, simKubeConfig, statusOf, eventually, type SimClients } from './sim-client.js';
export { ApiError } from './errors.js';
export { ExecSimulator, type ExecCall, type ExecResult, type ExecResponder } from './exec.js';
export type { KubeObject } from './types.js';
