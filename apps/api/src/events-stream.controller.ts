import { BadRequestException, Controller, Get, Headers, Inject, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuditLog } from '#lib/audit';
import { AUDIT_LOG } from '#lib/runtime';
import { ApiQueryFrom } from './api-query.decorator.js';
import { AuditFeed } from './audit-feed.js';
import { eventsAfter, isStreamId } from './event-replay.js';
import { EventsStreamQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import { SseClient } from './sse-client.js';

/** Interval of the `: heartbeat` comments that keep idle connections (and proxies) open. */
export const HEARTBEAT_MS = 15_000;

/** The audit log live, as server-sent events. */
@ApiTags('events')
@Controller('api/v1/events')
export class EventsStreamController {
  constructor(
    @Inject(AuditFeed) private readonly feed: AuditFeed,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
  ) {}

  @Get('stream')
  @ApiOperation({
    summary: 'New audit events as server-sent events',
    description:
      'Each event is one `data:` line of JSON with `id:` set to the event id; `: heartbeat` ' +
      'comments every 15 s. Filters as `GET /api/v1/events`. A `Last-Event-ID` header (sent by ' +
      'EventSource when it reconnects) replays the events missed since, up to 1000.',
  })
  @ApiProduces('text/event-stream')
  @ApiQueryFrom(EventsStreamQuerySchema)
  stream(
    @Query() query: unknown,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() res: Response,
  ): void {
    const match = parseInput(EventsStreamQuerySchema, query, 'query');
    if (lastEventId !== undefined && !isStreamId(lastEventId)) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        field: 'Last-Event-ID',
        message: `header Last-Event-ID: not an event id: ${lastEventId}`,
      });
    }
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 3000\n: connected\n\n');
    const client = new SseClient(res, match);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    const handle: { stop?: () => void } = {};
    const end = (): void => {
      clearInterval(heartbeat);
      handle.stop?.();
      res.end();
    };
    const stop = this.feed.listen((event) => client.push(event), end);
    handle.stop = stop;
    if (!stop) return end();
    res.on('close', end);
    if (lastEventId) {
      client.startReplay();
      eventsAfter(this.audit, lastEventId, match).then(
        (missed) => client.endReplay(missed),
        () => client.endReplay([]),
      );
    }
  }
}
