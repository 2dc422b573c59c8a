import {
  ForbiddenException,
  Inject,
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Request } from 'express';
import type { AuditLog } from '#lib/audit';
import type { EngineDeps } from '#lib/engine';
import { AUDIT_LOG, ENGINE_DEPS } from '#lib/runtime';

/**
 * Refuses a write a browser sends from another site (its `Origin` is not this server's host,
 * or `Sec-Fetch-Site` says `cross-site`), before anything else runs: 403 and one `api.refused`
 * audit event per origin and minute (a flood cannot push real events out of the capped log).
 * Clients that send no `Origin` (the CLI, curl) are not affected.
 */
@Injectable()
export class SameOriginGuard implements CanActivate {
  constructor(
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(ENGINE_DEPS) private readonly deps: EngineDeps,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    const origin = crossOrigin(request);
    if (origin === undefined) return true;
    const minute = Math.floor(this.deps.clock().getTime() / 60_000);
    if (await this.deps.once(`api-refused:${origin}:${minute}`)) {
      await this.audit.append({
        type: 'api.refused',
        outcome: 'failed',
        trigger: `api:${origin.slice(0, 200)}`,
        message: `cross-origin ${request.method} ${request.path.slice(0, 200)} refused`,
      });
    }
    throw new ForbiddenException({
      statusCode: 403,
      error: 'Forbidden',
      field: 'Origin',
      message: 'cross-origin writes are refused',
    });
  }
}

/** The foreign origin of a cross-site request, or undefined for same-origin and non-browsers. */
function crossOrigin(request: Request): string | undefined {
  const origin = request.headers.origin;
  const fetchSite = request.headers['sec-fetch-site'];
  const host = request.headers['x-forwarded-host'] ?? request.headers.host;
  if (origin !== undefined && origin !== '') {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || originHost !== host) return origin;
  }
  if (fetchSite === 'cross-site') return origin ?? 'cross-site';
  return undefined;
}
