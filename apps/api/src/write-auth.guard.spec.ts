import { UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import type { Config } from '#lib/config';
import { WriteAuthGuard } from './write-auth.guard.js';

function context(authorization?: string): ExecutionContext {
  const request = { headers: authorization === undefined ? {} : { authorization } };
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

function guard(apiToken?: string): WriteAuthGuard {
  return new WriteAuthGuard({ apiToken } as Config);
}

function message(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedException);
    return JSON.stringify((error as UnauthorizedException).getResponse());
  }
  throw new Error('not refused');
}

describe('WriteAuthGuard', () => {
  const token = '0123456789abcdef0123';

  it('lets a write with the configured bearer token through', () => {
    expect(guard(token).canActivate(context(`Bearer ${token}`))).toBe(true);
  });

  it.each([
    ['no header', undefined, /missing Authorization/],
    ['another scheme', `Basic ${token}`, /missing Authorization/],
    ['a wrong token', 'Bearer 0123456789abcdef0124', /invalid token/],
    ['a prefix of the token', 'Bearer 0123', /invalid token/],
  ])('refuses %s with 401', (_, header, text) => {
    expect(message(() => guard(token).canActivate(context(header)))).toMatch(text);
  });

  it('refuses every write, saying why, when no token is configured', () => {
    expect(message(() => guard(undefined).canActivate(context(`Bearer ${token}`)))).toMatch(
      /no SNAPWARDEN_API_TOKEN is configured/,
    );
  });
});
