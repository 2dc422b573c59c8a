import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ApiError, badRequest } from './errors.js';
import { decodeProtobuf } from './protobuf.js';

/** What the client asked for in `Accept`. */
export interface Negotiated {
  /** `Table` or `PartialObjectMetadata` conversion, when requested. */
  as?: 'Table' | 'PartialObjectMetadata';
  /** `meta.k8s.io` version of the conversion (`v1` or `v1beta1`). */
  asVersion: string;
  yaml: boolean;
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [{ type: '*/*', params: {} }];
  return header.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim());
    const entries = params.map((p) => p.split('=').map((s) => s.trim()) as [string, string]);
    return { type: type.toLowerCase(), params: Object.fromEntries(entries) };
  });
}

/**
 * Content negotiation like the API server's: the first acceptable range wins; `as=Table` and
 * `as=PartialObjectMetadata(List)` in group `meta.k8s.io` switch the representation; protobuf-only
 * clients get 406.
 */
export function negotiate(header: string | undefined): Negotiated {
  for (const range of parseAccept(header)) {
    const found = acceptable(range);
    if (found) return found;
  }
  throw new ApiError(
    406,
    'NotAcceptable',
    'only the following media types are accepted: application/json, application/yaml',
  );
}

const JSON_TYPES = new Set(['application/json', '*/*', 'application/*']);
const AS_KINDS: Record<string, Negotiated['as']> = {
  Table: 'Table',
  PartialObjectMetadata: 'PartialObjectMetadata',
  PartialObjectMetadataList: 'PartialObjectMetadata',
};

function acceptable(range: MediaRange): Negotiated | undefined {
  const yaml = range.type === 'application/yaml';
  if (!yaml && !JSON_TYPES.has(range.type)) return undefined;
  const as = range.params.as;
  if (!as) return { asVersion: 'v1', yaml };
  const kind = AS_KINDS[as];
  if (!kind || range.params.g !== 'meta.k8s.io') return undefined;
  return { as: kind, asVersion: range.params.v ?? 'v1', yaml };
}

/** Reads the whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Decodes a JSON or YAML body (by Content-Type); 400 on syntax errors. */
export function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  if (/protobuf/i.test(contentType ?? '')) return decodeProtobuf(body, contentType ?? '');
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  const yaml = /yaml/i.test(contentType ?? '');
  try {
    return yaml ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw badRequest(`couldn't get version/kind; json parse error: ${why}`);
  }
}

/** Sends a JSON (or YAML) body with status and extra headers. */
export function sendObject(
  res: ServerResponse,
  status: number,
  body: unknown,
  options: {
    yaml?: boolean;
    contentType?: string;
    headers?: Record<string, string | string[]>;
  } = {},
): void {
  const text = options.yaml ? toYaml(body) : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': options.contentType ?? (options.yaml ? 'application/yaml' : 'application/json'),
    'Cache-Control': 'no-cache, private',
    ...options.headers,
  });
  res.end(text);
}

/** Sends an {@link ApiError} as a `Status` object. */
export function sendError(res: ServerResponse, error: ApiError): void {
  sendObject(res, error.code, error.toStatus(), { headers: error.headers });
}

/** `Warning` header values (`299 - "text"`). */
export function warningHeaders(warnings: string[]): Record<string, string[]> {
  if (warnings.length === 0) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) };
}
