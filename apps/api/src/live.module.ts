import { Module } from '@nestjs/common';
import { AuditFeed } from './audit-feed.js';
import { EventsStreamController } from './events-stream.controller.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsService } from './metrics.service.js';

/** What follows the audit log live: the server-sent event stream and the metrics. */
@Module({
  controllers: [EventsStreamController, MetricsController],
  providers: [AuditFeed, MetricsService],
  exports: [AuditFeed],
})
export class LiveModule {}
