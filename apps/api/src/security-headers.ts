import type { INestApplication } from '@nestjs/common';
import type { Express, NextFunction, Request, Response } from 'express';

/**
 * Headers on every answer (API, health, metrics, dashboard, errors): `X-Content-Type-Options:
 * nosniff`, and no `X-Powered-By`. The dashboard adds its own Content-Security-Policy.
 */
export function applySecurityHeaders(app: INestApplication): void {
  const express = app.getHttpAdapter().getInstance() as Express;
  express.disable('x-powered-by');
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
}
