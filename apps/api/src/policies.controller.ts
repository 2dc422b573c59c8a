import { Controller, Get, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import type { RunRecord, RunStore } from '#lib/audit';
import { NoQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import { policySelections } from './volume-policies.js';
import { nextRuns } from '#lib/policy';
import {
  appliedPolicyStatus,
  nextRunTime,
  selectionCondition,
  type PolicyCondition,
  type PolicyStore,
  type StoredPolicy,
} from '#lib/engine';
import { DRIVER, POLICY_STORE, RUN_STORE } from '#lib/runtime';
import type { SnapshotDriver } from '#lib/storage';
import { ApiTags } from '@nestjs/swagger';

/** The newest finished run of a policy, as the policy list shows it. */
export interface PolicyLastRunView {
  id: string;
  state: string;
  scheduledAt: string;
  finishedAt?: string;
}

function lastRunView(run: RunRecord | undefined): PolicyLastRunView | undefined {
  if (!run) return undefined;
  const view: PolicyLastRunView = { id: run.id, state: run.state, scheduledAt: run.scheduledAt };
  if (run.finishedAt !== undefined) view.finishedAt = run.finishedAt;
  return view;
}

/**
 * Policies in force, with their next runs, latest finished run and conditions
 * (`VolumesSelected` False is a warning: the policy selects nothing, or names claims that do
 * not exist), and the sources that failed validation.
 */
@ApiTags('policies')
@Controller('api/v1/policies')
export class PoliciesController {
  constructor(
    @Inject(POLICY_STORE) private readonly policies: PolicyStore,
    @Inject(RUN_STORE) private readonly runs: RunStore,
    @Inject(DRIVER) private readonly driver: SnapshotDriver,
  ) {}

  @Get()
  async list(@Query() query: unknown) {
    parseInput(NoQuerySchema, query, 'query');
    const [items, problems] = await Promise.all([this.policies.list(), this.policies.problems()]);
    const [latest, conditions] = await Promise.all([
      this.runs.latestFinished(items.map((s) => s.key)),
      this.conditionsOf(items),
    ]);
    const now = new Date();
    return {
      items: items.map((s, i) => ({
        key: s.key,
        source: s.source,
        appliedAt: s.appliedAt,
        spec: s.policy.spec,
        nextRunTime: nextRunTime(s.policy, s.key, now)?.toISOString(),
        lastRun: lastRunView(latest.get(s.key)),
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
    const key = `${namespace}/${name}`;
    const stored = await this.policies.get(key);
    if (!stored) {
      throw new NotFoundException({
        statusCode: 404,
        error: 'Not Found',
        field: 'name',
        message: `policy ${namespace}/${name} not found`,
      });
    }
    const spec = stored.policy.spec;
    const now = new Date();
    const [latest, [selection]] = await Promise.all([
      this.runs.latestFinished([key]),
      this.conditionsOf([stored]),
    ]);
    return {
      ...stored,
      spec,
      nextRuns: spec.suspend
        ? []
        : nextRuns(spec.schedule, spec.timeZone, now, 5).map((d) => d.toISOString()),
      nextRunTime: nextRunTime(stored.policy, key, now)?.toISOString(),
      lastRun: lastRunView(latest.get(key)),
      conditions: [
        ...(appliedPolicyStatus(stored.policy, key, now).conditions ?? []),
        ...(selection ?? []),
      ],
    };
  }

  /** Each policy's `VolumesSelected` condition, from what the driver's volume index finds for it. */
  private async conditionsOf(items: StoredPolicy[]): Promise<PolicyCondition[][]> {
    const { found } = await policySelections(this.driver, items);
    return items.map((s) => {
      const condition = selectionCondition(s.policy, found.get(s.key) ?? []);
      return [{ ...condition, lastTransitionTime: new Date().toISOString() }];
    });
  }
}
