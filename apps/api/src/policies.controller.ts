import { Controller, Get, Inject, NotFoundException, Param } from '@nestjs/common';
import type { RunRecord, RunStore } from '#lib/audit';
import { nextRuns } from '#lib/policy';
import { appliedPolicyStatus, nextRunTime, type PolicyStore } from '#lib/engine';
import { POLICY_STORE, RUN_STORE } from '#lib/runtime';
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

/** Policies in force, with their next runs, and the sources that failed validation. */
@ApiTags('policies')
@Controller('api/v1/policies')
export class PoliciesController {
  constructor(
    @Inject(POLICY_STORE) private readonly policies: PolicyStore,
    @Inject(RUN_STORE) private readonly runs: RunStore,
  ) {}

  @Get()
  async list() {
    const [items, problems] = await Promise.all([this.policies.list(), this.policies.problems()]);
    const latest = await this.runs.latestFinished(items.map((s) => s.key));
    const now = new Date();
    return {
      items: items.map((s) => ({
        key: s.key,
        source: s.source,
        appliedAt: s.appliedAt,
        spec: s.policy.spec,
        nextRunTime: nextRunTime(s.policy, s.key, now)?.toISOString(),
        lastRun: lastRunView(latest.get(s.key)),
      })),
      problems,
    };
  }

  @Get(':namespace/:name')
  async get(@Param('namespace') namespace: string, @Param('name') name: string) {
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
    const latest = await this.runs.latestFinished([key]);
    return {
      ...stored,
      spec,
      nextRuns: spec.suspend
        ? []
        : nextRuns(spec.schedule, spec.timeZone, now, 5).map((d) => d.toISOString()),
      nextRunTime: nextRunTime(stored.policy, key, now)?.toISOString(),
      lastRun: lastRunView(latest.get(key)),
      conditions: appliedPolicyStatus(stored.policy, key, now).conditions ?? [],
    };
  }
}
