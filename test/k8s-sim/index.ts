export { type KubeSim, type KubeSimOptions, startKubeSim, createCluster } from './server.js';
export { loadCrdsFromDir } from './crd.js';
export { FaultInjector, type FailRule } from './faults.js';
export { RequestLog, type RequestRecord, type RequestCounts } from './request-log.js';
export { SimStore } from './sim-store.js';
export { ApiError } from './errors.js';
export type { KubeObject } from './types.js';
