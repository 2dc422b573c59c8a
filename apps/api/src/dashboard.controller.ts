import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` puts the bundled dashboard (`tools/build-dashboard.mjs`). */
export const DASHBOARD_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'dashboard',
);

/** The dashboard's files, by the name the page asks for. */
const ASSETS: Record<string, string> = {
  'app.js': 'application/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** The dashboard: one page and its bundled script and styles, all served locally. */
@ApiExcludeController()
@Controller()
export class DashboardController {
  @Get()
  index(@Res() res: Response): void {
    this.send(res, 'index.html', 'text/html; charset=utf-8');
  }

  @Get('favicon.ico')
  favicon(@Res() res: Response): void {
    this.send(res, 'favicon.ico', 'image/x-icon');
  }

  @Get('dashboard/:file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    const type = ASSETS[file];
    if (!type)
      throw new NotFoundException({ statusCode: 404, message: `no dashboard file ${file}` });
    this.send(res, file, type);
  }

  private send(res: Response, file: string, type: string): void {
    res.set({
      'Content-Type': type,
      'Cache-Control': 'no-cache',
      'Content-Security-Policy':
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
        "object-src 'none'; frame-ancestors 'none'",
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
    });
    res.sendFile(file, { root: DASHBOARD_DIR }, (error?: Error) => {
      if (error && !res.headersSent)
        res.status(404).json({ statusCode: 404, message: `dashboard not built: ${file}` });
    });
  }
}
