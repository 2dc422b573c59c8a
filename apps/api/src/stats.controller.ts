import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { RunStore } from '#lib/audit';
import { RUN_STORE } from '#lib/runtime';
import { ApiQueryFrom } from './api-query.decorator.js';
import { isoDateTime } from './list-query.schema.js';
import { withQueryErrors } from './query-errors.js';
import { parseInput } from './query-validation.js';

const DAY_MS = 86_400_000;

/** Query of `GET /api/v1/stats/runs-per-day`; the range defaults to the last 14 days. */
export const RunsPerDayQuerySchema = z.strictObject({
  since: isoDateTime.optional(),
  until: isoDateTime.optional(),
  timeZone: z.string().min(1).optional(),
  policy: z.string().min(1).optional(),
});

/** Aggregates for the dashboard's charts. */
@ApiTags('runs')
@Controller('api/v1/stats')
export class StatsController {
  constructor(@Inject(RUN_STORE) private readonly runs: RunStore) {}

  @Get('runs-per-day')
  @ApiOperation({ summary: 'Finished runs per calendar day by result' })
  @ApiQueryFrom(RunsPerDayQuerySchema)
  async runsPerDay(@Query() query: unknown) {
    const { since, until, timeZone, policy } = parseInput(RunsPerDayQuerySchema, query, 'query');
    const end = until ?? new Date();
    const start = since ?? new Date(end.getTime() - 14 * DAY_MS);
    return withQueryErrors(async () => ({
      items: await this.runs.dailyCounts(start, end, timeZone ?? 'UTC', { policy }),
    }));
  }
}
