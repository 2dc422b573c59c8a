import { BadRequestException } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  API_VERSION,
  fieldErrorsFromIssues,
  isDns1123Label,
  isDns1123Subdomain,
  type FieldError,
  type SpecParseResult,
} from '#lib/policy';

/**
 * Envelope of a POSTed request: `metadata` (or top-level `name`/`namespace`) and `spec`, and
 * optionally the resource's `apiVersion` and `kind`. Strict: a field the API would not use is
 * refused by name, never dropped.
 */
const envelopeSchema = (kind: string) =>
  z.strictObject({
    apiVersion: z.literal(API_VERSION).optional(),
    kind: z.literal(kind).optional(),
    metadata: z
      .strictObject({ name: z.string().optional(), namespace: z.string().optional() })
      .optional(),
    name: z.string().optional(),
    namespace: z.string().optional(),
    spec: z.unknown(),
  });
type Envelope = z.output<ReturnType<typeof envelopeSchema>>;

/** A validated POST body: where the request lives and its parsed spec. */
export interface ParsedRequestBody<S> {
  namespace: string;
  name: string;
  spec: S;
}

/**
 * Validates a POSTed request body; a problem is a 400 naming the field, before anything is
 * written. A missing name is generated (`<prefix>-<8 hex>`).
 */
export function parseRequestBody<S>(
  body: unknown,
  kind: { name: string; prefix: string },
  parseSpec: (spec: unknown) => SpecParseResult<S>,
): ParsedRequestBody<S> {
  const envelope = envelopeSchema(kind.name).safeParse(body ?? {});
  if (!envelope.success) {
    const error = fieldErrorsFromIssues(envelope.error.issues)[0];
    const field = !error || error.field === '(root)' ? 'body' : error.field;
    throw badRequest({ field, message: error?.message ?? 'invalid' });
  }
  const prefix = kind.prefix;
  const { namespace, name } = identify(envelope.data, prefix);
  if (envelope.data.spec === undefined) throw badRequest({ field: 'spec', message: 'required' });
  const parsed = parseSpec(envelope.data.spec);
  if (!parsed.ok) throw badRequest(parsed.errors[0] ?? { field: 'spec', message: 'invalid' });
  return { namespace, name, spec: parsed.value };
}

function identify(envelope: Envelope, prefix: string) {
  const { metadata } = envelope;
  const namespace = metadata?.namespace ?? envelope.namespace ?? 'default';
  const generated = `${prefix}-${randomBytes(4).toString('hex')}`;
  const name = metadata?.name ?? envelope.name ?? generated;
  if (!isDns1123Label(namespace)) {
    throw badRequest({ field: 'metadata.namespace', message: 'must be a DNS-1123 label' });
  }
  if (!isDns1123Subdomain(name)) {
    const field = metadata?.name !== undefined ? 'metadata.name' : 'name';
    throw badRequest({ field, message: 'must be a DNS-1123 subdomain' });
  }
  return { namespace, name };
}

/** 400 naming the field: `{ statusCode, error, field, message }`. */
export function badRequest(error: FieldError): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    field: error.field,
    message: `${error.field}: ${error.message}`,
  });
}
