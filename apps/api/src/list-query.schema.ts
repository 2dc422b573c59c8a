import { z } from 'zod';
import { AUDIT_EVENT_TYPES } from '#lib/audit';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An ISO 8601 date or date-time (`2026-11-21`, `2026-11-21T02:00:00Z`), nothing else that
 * `Date.parse` would take (`1` would be the year 2001).
 */
export const isoDateTime = z
  .string()
  .refine(
    (v) => ISO_8601.test(v) && !Number.isNaN(Date.parse(v)),
    'must be an ISO 8601 date-time such as 2026-11-21T02:00:00Z',
  )
  .transform((v) => new Date(v));

const limit = z
  .string()
  .regex(/^\d+$/, 'must be a whole number')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be at least 1').max(500, 'must be at most 500'));

const common = {
  policy: z.string().min(1).optional(),
  volume: z.string().min(1).optional(),
  since: isoDateTime.optional(),
  until: isoDateTime.optional(),
  cursor: z.string().min(1).optional(),
  limit: limit.optional(),
};

/** Query of `GET /api/v1/runs`. Unknown parameters are rejected by name. */
export const RunsQuerySchema = z.strictObject({
  ...common,
  kind: z.enum(['scheduled', 'on-demand', 'restore', 'cleanup']).optional(),
  state: z.enum(['running', 'succeeded', 'failed', 'partial', 'missed', 'skipped']).optional(),
});

/** Query of `GET /api/v1/events`. */
export const EventsQuerySchema = z.strictObject({
  ...common,
  namespace: z.string().min(1).optional(),
  runId: z.string().min(1).optional(),
  kind: z.enum(AUDIT_EVENT_TYPES).optional(),
  state: z.enum(['started', 'succeeded', 'failed', 'skipped', 'missed', 'info']).optional(),
});

/** Query of `GET /api/v1/events/stream`: the filters of `GET /api/v1/events`, no paging. */
export const EventsStreamQuerySchema = EventsQuerySchema.omit({
  since: true,
  until: true,
  cursor: true,
  limit: true,
});

/** Query of `GET /api/v1/volumes`. */
export const VolumesQuerySchema = z.strictObject({
  namespace: z.string().min(1).optional(),
});

/** Query of endpoints that take no parameters: any parameter is refused by name. */
export const NoQuerySchema = z.strictObject({});
