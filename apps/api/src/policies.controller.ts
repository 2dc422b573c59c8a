import { Controller, Get, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import { NoQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import { nextRuns } from '#lib/policy';
import type { PolicyStore } from '#lib/engine';
import { POLICY_STORE } from '#lib/runtime';
import { ApiTags } from '@nestjs/swagger';

/** Policies in force, with their next runs, and the sources that failed validation. */
@ApiTags('policies')
@Controller('api/v1/policies')
export class PoliciesController {
  constructor(@Inject(POLICY_STORE) private readonly policies: PolicyStore) {}

  @Get()
  async list(@Query() query: unknown) {
    parseInput(NoQuerySchema, query, 'query');
    const [items, problems] = await Promise.all([this.policies.list(), this.policies.problems()]);
    const now = new Date();
    return {
      items: items.map((s) => ({
        key: s.key,
        source: s.source,
        appliedAt: s.appliedAt,
        spec: s.policy.spec,
        nextRunTime: s.policy.spec.suspend
          ? undefined
          : nextRuns(s.policy.spec.schedule, s.policy.spec.timeZone, now, 1)[0]?.toISOString(),
      })),
      problems,
    };
  }

  @Get(':namespace/:name')
  async get(
    @Param('namespace') namespace: string,
    @Param('name') name: string,
    @Query() query: unknown,
  ) {
    parseInput(NoQuerySchema, query, 'query');
    const stored = await this.policies.get(`${namespace}/${name}`);
    if (!stored) {
      throw new NotFoundException({
        statusCode: 404,
        error: 'Not Found',
        field: 'name',
        message: `policy ${namespace}/${name} not found`,
      });
    }
    const spec = stored.policy.spec;
    return {
      ...stored,
      nextRuns: spec.suspend
        ? []
        : nextRuns(spec.schedule, spec.timeZone, new Date(), 5).map((d) => d.toISOString()),
    };
  }
}
