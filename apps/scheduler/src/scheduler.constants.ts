/** Injection token of the scheduler's `PolicySource` (files in local mode, custom resources in kubernetes mode). */
export const POLICY_SOURCE = Symbol('POLICY_SOURCE');
