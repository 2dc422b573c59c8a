import { Controller, Get, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import { NoQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import { nextRuns } from '#lib/policy';
import {
  selectionCondition,
  type PolicyCondition,
  type PolicyStore,
  type StoredPolicy,
} from '#lib/engine';
import { DRIVER, POLICY_STORE } from '#lib/runtime';
import type { SnapshotDriver } from '#lib/storage';
import { ApiTags } from '@nestjs/swagger';

/**
 * Policies in force, with their next runs and conditions (`VolumesSelected` False is a
 * warning: the policy selects nothing, or names claims that do not exist), and the sources
 * that failed validation.
 */
@ApiTags('policies')
@Controller('api/v1/policies')
export class PoliciesController {
  constructor(
    @Inject(POLICY_STORE) private readonly policies: PolicyStore,
    @Inject(DRIVER) private readonly driver: SnapshotDriver,
  ) {}

  @Get()
  async list(@Query() query: unknown) {
    parseInput(NoQuerySchema, query, 'query');
    const [items, problems] = await Promise.all([this.policies.list(), this.policies.problems()]);
    const now = new Date();
    const conditions = await this.conditionsOf(items);
    return {
      items: items.map((s, i) => ({
        key: s.key,
        source: s.source,
        appliedAt: s.appliedAt,
        spec: s.policy.spec,
        nextRunTime: s.policy.spec.suspend
          ? undefined
          : nextRuns(s.policy.spec.schedule, s.policy.spec.timeZone, now, 1)[0]?.toISOString(),
        conditions: conditions[i],
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
    const [conditions] = await this.conditionsOf([stored]);
    return {
      ...stored,
      conditions,
      nextRuns: spec.suspend
        ? []
        : nextRuns(spec.schedule, spec.timeZone, new Date(), 5).map((d) => d.toISOString()),
    };
  }

  /** Each policy's `VolumesSelected` condition, from one volume listing per namespace. */
  private async conditionsOf(items: StoredPolicy[]): Promise<PolicyCondition[][]> {
    const byNamespace = new Map<string, ReturnType<SnapshotDriver['listVolumes']>>();
    return Promise.all(
      items.map(async (s) => {
        const namespace = s.policy.metadata.namespace ?? 'default';
        let volumes = byNamespace.get(namespace);
        if (!volumes) byNamespace.set(namespace, (volumes = this.driver.listVolumes(namespace)));
        const condition = selectionCondition(s.policy, await volumes);
        return [{ ...condition, lastTransitionTime: new Date().toISOString() }];
      }),
    );
  }
}
