import { timingSafeEqual, createHash } from 'node:crypto';
import {
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Request } from 'express';
import type { Config } from '#lib/config';
import { CONFIG } from '#lib/runtime';

/**
 * Writes need `Authorization: Bearer <SNAPWARDEN_API_TOKEN>`, compared in constant time
 * (both sides hashed first, so neither the length nor a prefix leaks). Without a configured
 * token every write is refused, saying so.
 */
@Injectable()
export class WriteAuthGuard implements CanActivate {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.config.apiToken;
    if (!expected) {
      throw unauthorized(
        'writes are disabled: no SNAPWARDEN_API_TOKEN is configured on the server',
      );
    }
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match) throw unauthorized('missing Authorization: Bearer <token>');
    if (!timingSafeEqual(digest(match[1] ?? ''), digest(expected))) {
      throw unauthorized('invalid token');
    }
    return true;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function unauthorized(message: string): UnauthorizedException {
  return new UnauthorizedException({ statusCode: 401, error: 'Unauthorized', message });
}
