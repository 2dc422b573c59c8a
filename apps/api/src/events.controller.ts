import { Controller, Get, Inject, Query } from '@nestjs/common';
import type { AuditLog } from '#lib/audit';
import { AUDIT_LOG } from '#lib/runtime';
import { EventsQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import { withQueryErrors } from './query-errors.js';
import { ApiTags } from '@nestjs/swagger';
import { ApiQueryFrom } from './api-query.decorator.js';

/** The audit log: every state change, newest first, filtered and paginated. */
@ApiTags('events')
@Controller('api/v1/events')
export class EventsController {
  constructor(@Inject(AUDIT_LOG) private readonly audit: AuditLog) {}

  @Get()
  @ApiQueryFrom(EventsQuerySchema)
  async list(@Query() query: unknown) {
    const { kind, state, ...rest } = parseInput(EventsQuerySchema, query, 'query');
    return withQueryErrors(() => this.audit.query({ ...rest, type: kind, outcome: state }));
  }
}
