import { Module } from '@nestjs/common';
import { AuditFeed } from './audit-feed.js';
import { EventsStreamController } from './events-stream.controller.js';

/** What follows the audit log live: the server-sent event stream. */
@Module({
  controllers: [EventsStreamController],
  providers: [AuditFeed],
  exports: [AuditFeed],
})
export class LiveModule {}
