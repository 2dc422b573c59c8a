/** Injection tokens of the shared runtime providers. */
export const CONFIG = Symbol('CONFIG');
export const REDIS = Symbol('REDIS');
export const DRIVER = Symbol('DRIVER');
export const POLICY_STORE = Symbol('POLICY_STORE');
export const AUDIT_LOG = Symbol('AUDIT_LOG');
export const RUN_STORE = Symbol('RUN_STORE');
export const ENGINE_DEPS = Symbol('ENGINE_DEPS');
export const LOGGER = Symbol('LOGGER');
export const KUBE_CLIENT = Symbol('KUBE_CLIENT');
export const KUBE_INFORMERS = Symbol('KUBE_INFORMERS');
/** Kubernetes mode's policy status catch-up (`StatusCatchUp`), or null in local mode. */
export const STATUS_CATCH_UP = Symbol('STATUS_CATCH_UP');
