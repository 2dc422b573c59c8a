import type { ClaimSnapshotStatus } from '#lib/policy';

/*
 * Where `snapshot` and `restore` send their requests: the REST API (api-backend.ts) or, in kube
 * mode, SnapshotRequest/RestoreRequest custom resources (kube-backend.ts). The commands' logic
 * (progress lines, exit codes, json output) only sees the statuses below.
 */

/** One claim of a SnapshotRequest (the same in the API's answer and the resource's status). */
export type ClaimStatus = ClaimSnapshotStatus;

/** A SnapshotRequest as the commands see it (the API's shape). */
export interface RequestStatus {
  namespace: string;
  name: string;
  phase: string;
  message?: string;
  /** The server failed the request at its `spec.timeoutSeconds`. */
  timedOut?: boolean;
  snapshots: ClaimStatus[];
}

/** A RestoreRequest as the commands see it (the API's shape). */
export interface RestoreStatus {
  namespace: string;
  name: string;
  phase: string;
  message?: string;
  /** For a failed restore: the field whose rule is broken. */
  field?: string;
  claimName?: string;
}

/** A status as read, and what `--output json` prints for it. */
export interface Observed<S> {
  status: S;
  json: unknown;
}

/**
 * Creates requests of one kind and reads them back. Invariant: a create that throws wrote
 * nothing the caller must clean up, except when the server failed mid-write (exit code 1).
 * Problems are {@link CliError}s with the exit code already chosen.
 */
export interface RequestBackend<Spec, S> {
  /** `name` undefined: the backend (or the server) generates one. */
  create(namespace: string, name: string | undefined, spec: Spec): Promise<Observed<S>>;
  get(namespace: string, name: string): Promise<Observed<S>>;
}
