import { Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';

/** `/healthz` and `/readyz`, served by every process whatever its roles. */
@Module({ controllers: [HealthController] })
export class HealthModule {}
