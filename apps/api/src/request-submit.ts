import { RejectedRequestError } from '#lib/engine';
import { badRequest } from './request-body.js';
import { conflict } from './snapshot-requests.controller.js';

/** The three steps of accepting a request, over one kind's service and queue. */
export interface RequestSubmission {
  /** Stores the request; false when the name is taken. May refuse it (RejectedRequestError). */
  create(): Promise<boolean>;
  /** Queues the stored request. */
  submit(): Promise<void>;
  /** Takes the stored request back. */
  discard(): Promise<boolean>;
  /** Whether the request's job is in its queue (an enqueue whose reply was lost may have run). */
  queued(): Promise<boolean>;
}

/**
 * Stores and queues a request, or leaves nothing behind: a refused request (400) and a taken
 * name (409) write nothing, and a request that cannot be queued is taken back before the error
 * is answered, so no `Pending` record is left that would never run and would block its name.
 * An enqueue can fail after its write reached Redis (the reply lost with the connection): when
 * the job is there, the request stands and is answered as accepted. Taking it back then would
 * leave a job that runs on no record, and a retry under the same name would be queued under the
 * same job id, which the queue ignores: a request that never runs.
 */
export async function createAndSubmit(
  what: string,
  key: string,
  steps: RequestSubmission,
): Promise<void> {
  let created: boolean;
  try {
    created = await steps.create();
  } catch (error) {
    if (error instanceof RejectedRequestError) {
      throw badRequest({ field: error.field, message: error.reason });
    }
    throw error;
  }
  if (!created) throw conflict(what, key);
  try {
    await steps.submit();
  } catch (error) {
    if (await steps.queued().catch(() => false)) return;
    await steps.discard().catch(() => false);
    throw error;
  }
}
