/**
 * A request refused before anything is stored, naming the field at fault (`spec.ttl`,
 * `spec.policyRef.name`). Callers answer it as bad input: 400 in the API, a refused custom
 * resource in kubernetes mode.
 */
export class RejectedRequestError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'RejectedRequestError';
  }
}
