import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuditEvent } from '#lib/audit';
import { ApiQueryFrom } from './api-query.decorator.js';
import { AuditFeed } from './audit-feed.js';
import { matchesEvent } from './event-match.js';
import { EventsStreamQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';

/** Interval of the `: heartbeat` comments that keep idle connections (and proxies) open. */
export const HEARTBEAT_MS = 15_000;

/** The audit log live, as server-sent events. */
@ApiTags('events')
@Controller('api/v1/events')
export class EventsStreamController {
  constructor(@Inject(AuditFeed) private readonly feed: AuditFeed) {}

  @Get('stream')
  @ApiOperation({
    summary: 'New audit events as server-sent events',
    description:
      'Each event is one `data:` line of JSON with `id:` set to the event id; `: heartbeat` ' +
      'comments every 15 s. Filters as `GET /api/v1/events`.',
  })
  @ApiProduces('text/event-stream')
  @ApiQueryFrom(EventsStreamQuerySchema)
  stream(@Query() query: unknown, @Res() res: Response): void {
    const match = parseInput(EventsStreamQuerySchema, query, 'query');
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 3000\n: connected\n\n');
    const send = (event: AuditEvent): void => {
      if (matchesEvent(event, match))
        res.write(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    const handle: { stop?: () => void } = {};
    const end = (): void => {
      clearInterval(heartbeat);
      handle.stop?.();
      res.end();
    };
    const stop = this.feed.listen(send, end);
    handle.stop = stop;
    if (!stop) end();
    else res.on('close', end);
  }
}
