import { badRequest } from './errors.js';
import type { ListOptions, ListResult } from './sim-store.js';
import { isRecord, type KubeObject } from './types.js';

/** What a continue token carries: the list's resourceVersion and the last key served. */
export interface ContinueToken {
  rv: number;
  start: string;
}

/** The etcd-style key objects are ordered by in lists. */
export function objectKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/** Encodes a continue token the way the API server does (base64 JSON). */
export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', ...token })).toString('base64url');
}

/** Decodes a continue token; 400 for a malformed one. */
export function decodeContinue(raw: string): ContinueToken {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (isRecord(parsed) && typeof parsed.rv === 'number' && typeof parsed.start === 'string') {
      return { rv: parsed.rv, start: parsed.start };
    }
  } catch {
    // fall through to the error below
  }
  throw badRequest(
    'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
  );
}

/**
 * Cuts a page of `limit` items; sets `continue` when more remain and `remainingItemCount` when no
 * selector was used (as the real server does).
 */
export function paginate(items: KubeObject[], rv: number, options: ListOptions): ListResult {
  const limit = options.limit && options.limit > 0 ? options.limit : undefined;
  if (!limit || items.length <= limit) return { items, resourceVersion: String(rv) };
  const page = items.slice(0, limit);
  const last = page[page.length - 1];
  const unfiltered = !options.labelSelector && !options.fieldSelector;
  return {
    items: page,
    resourceVersion: String(rv),
    continue: encodeContinue({ rv, start: last ? objectKey(last) : '' }),
    ...(unfiltered ? { remainingItemCount: items.length - limit } : {}),
  };
}
