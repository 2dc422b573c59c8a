import { type ResourceType, qualifiedResource } from './resources.js';
import { text } from './types.js';

/** One entry of `Status.details.causes`. */
export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

/** `metav1.StatusDetails`. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** A field-level validation failure, rendered like `k8s.io/apimachinery/pkg/util/validation/field`. */
export interface FieldError {
  /** e.g. `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`. */
  type: string;
  /** Dotted path, e.g. `spec.retention.keepLast` or `spec.items[0].name`. */
  field: string;
  /** The part after the field, e.g. `Required value` or `Invalid value: 3: must be ...`. */
  detail: string;
}

/**
 * An error the API server answers with a `Status` object. The HTTP layer renders it; controllers
 * and tests can catch it when they use the store directly.
 */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The `Status` body a real API server sends for this error. */
  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

function detailsFor(rt: ResourceType, name: string): StatusDetails {
  return { name, ...(rt.group ? { group: rt.group } : {}), kind: rt.plural };
}

/** 404 NotFound, e.g. `persistentvolumeclaims "data" not found`. */
export function notFound(rt: ResourceType, name: string): ApiError {
  return new ApiError(
    404,
    'NotFound',
    `${qualifiedResource(rt)} "${name}" not found`,
    detailsFor(rt, name),
  );
}

/** 409 AlreadyExists on create. */
export function alreadyExists(rt: ResourceType, name: string): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualifiedResource(rt)} "${name}" already exists`,
    detailsFor(rt, name),
  );
}

/** 409 Conflict: stale resourceVersion or failed precondition. */
export function conflict(rt: ResourceType, name: string, why?: string): ApiError {
  const reason =
    why ??
    'the object has been modified; please apply your changes to the latest version and try again';
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(rt)} "${name}": ${reason}`,
    detailsFor(rt, name),
  );
}

/** 422 Invalid with one cause per field error, message formatted like the real server. */
export function invalid(rt: ResourceType, name: string, errors: FieldError[]): ApiError {
  const rendered = errors.map((e) => `${e.field}: ${e.detail}`);
  const list = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
  const qualifiedKind = rt.group ? `${rt.kind}.${rt.group}` : rt.kind;
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, {
    name,
    ...(rt.group ? { group: rt.group } : {}),
    kind: rt.kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** 403 Forbidden, e.g. creating in a terminating namespace. */
export function forbidden(rt: ResourceType, name: string, why: string): ApiError {
  return new ApiError(
    403,
    'Forbidden',
    `${qualifiedResource(rt)} "${name}" is forbidden: ${why}`,
    detailsFor(rt, name),
  );
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(message: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', message);
}

/** 410 Expired, as sent for a too-old resourceVersion or continue token. */
export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

/** 404 for a URL that names no resource at all. */
export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

/** 415 for a patch or body media type the resource does not accept. */
export function unsupportedMediaType(contentType: string, accepted: string[]): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    { causes: [{ reason: 'UnexpectedServerResponse', message: contentType }] },
  );
}

/** 500 InternalError. */
export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ reason: 'UnexpectedServerResponse', message }],
  });
}

/** Shorthand for a field error. */
export function fieldError(type: string, field: string, detail: string): FieldError {
  return { type, field, detail };
}

/** `Required value` at a field. */
export function required(field: string, why?: string): FieldError {
  return fieldError('FieldValueRequired', field, why ? `Required value: ${why}` : 'Required value');
}

/** `Invalid value: <v>: <why>` at a field. */
export function invalidValue(field: string, value: unknown, why: string): FieldError {
  return fieldError('FieldValueInvalid', field, `Invalid value: ${renderValue(value)}: ${why}`);
}

/** `Forbidden: <why>` at a field. */
export function forbiddenField(field: string, why: string): FieldError {
  return fieldError('FieldValueForbidden', field, `Forbidden: ${why}`);
}

/** Renders a bad value the way Go's field errors do (strings quoted, objects by type). */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return '"array"';
  if (typeof value === 'object') return '"object"';
  return text(value);
}
