import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Readiness } from '#lib/runtime';
import { ApiTags } from '@nestjs/swagger';

/** Liveness and readiness, for Kubernetes probes and for people. */
@ApiTags('health')
@Controller()
export class HealthController {
  constructor(@Inject(Readiness) private readonly readiness: Readiness) {}

  @Get('healthz')
  @HttpCode(200)
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(@Res() res: Response) {
    const { ready, checks } = await this.readiness.evaluate();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  }
}
