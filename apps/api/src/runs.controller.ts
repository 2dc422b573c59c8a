import { Controller, Get, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import type { RunStore } from '#lib/audit';
import { RUN_STORE } from '#lib/runtime';
import { NoQuerySchema, RunsQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import { withQueryErrors } from './query-errors.js';
import { ApiTags } from '@nestjs/swagger';
import { ApiQueryFrom } from './api-query.decorator.js';

/** Job history: one entry per run (a policy tick, a request, a restore, a cleanup pass). */
@ApiTags('runs')
@Controller('api/v1/runs')
export class RunsController {
  constructor(@Inject(RUN_STORE) private readonly runs: RunStore) {}

  @Get()
  @ApiQueryFrom(RunsQuerySchema)
  async list(@Query() query: unknown) {
    const filter = parseInput(RunsQuerySchema, query, 'query');
    return withQueryErrors(() => this.runs.list(filter));
  }

  @Get(':id')
  async get(@Param('id') id: string, @Query() query: unknown) {
    parseInput(NoQuerySchema, query, 'query');
    const run = await this.runs.get(id);
    if (!run)
      throw new NotFoundException({
        statusCode: 404,
        error: 'Not Found',
        message: `run ${id} not found`,
        field: 'id',
      });
    return run;
  }
}
