/** libs/kube: a narrow wrapper over @kubernetes/client-node (rate limit, retries, informers, typed resources). */
export { loadKubeConfig, type LoadKubeConfigOptions } from './kube-config.js';
export {
  KubeClient,
  type KubeClientOptions,
  type CustomResource,
  type ListResult,
  type StatusUpdate,
} from './kube-client.js';
export {
  KubeApiError,
  KubeInvalidError,
  toKubeApiError,
  type StatusCause,
} from './kube-api-error.js';
export { TokenBucket } from './rate-limiter.js';
export { type RetryOptions, isRetryable } from './retry.js';
export { Informer, type InformerOptions, type InformerStatus } from './informer.js';
export { type ListWatchSource, resourcePath } from './list-watch-source.js';
export { type KubeEventInput, eventName } from './events.js';
export type { KubeConfig } from '@kubernetes/client-node';
export * from './resources.js';
export * from './workloads.js';
export * from './pod-exec.js';
