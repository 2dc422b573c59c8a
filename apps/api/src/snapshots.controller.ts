import { Controller, Get, Inject, Query } from '@nestjs/common';
import type { Snapshot, SnapshotDriver } from '#lib/storage';
import { LABEL_ON_DEMAND, LABEL_POLICY, parseScheduledAt } from '#lib/policy';
import { LABEL_EXPIRES_AT } from '#lib/engine';
import { DRIVER } from '#lib/runtime';
import { VolumesQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import { ApiTags } from '@nestjs/swagger';
import { ApiQueryFrom } from './api-query.decorator.js';
import { RequestsGateway } from './request-providers.js';

/** Where a snapshot came from: a policy's run, an on-demand request (with its reason), or elsewhere. */
export type SnapshotOrigin =
  | { kind: 'policy'; policy: string }
  | { kind: 'on-demand'; request: string; reason?: string }
  | { kind: 'other' };

/** A snapshot as the API lists it: the driver's view plus its origin and expiry. */
export type SnapshotView = Snapshot & { origin: SnapshotOrigin; expiresAt?: string };

/** Every snapshot the driver knows, managed or not, newest first. */
@ApiTags('snapshots')
@Controller('api/v1/snapshots')
export class SnapshotsController {
  constructor(
    @Inject(DRIVER) private readonly driver: SnapshotDriver,
    @Inject(RequestsGateway) private readonly gateway: RequestsGateway,
  ) {}

  @Get()
  @ApiQueryFrom(VolumesQuerySchema)
  async list(@Query() query: unknown): Promise<{ items: SnapshotView[] }> {
    const { namespace } = parseInput(VolumesQuerySchema, query, 'query');
    const snapshots = await this.driver.listAllSnapshots(namespace);
    const reasons = await this.requestReasons(snapshots);
    return {
      items: snapshots
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
        .map((s) => view(s, reasons)),
    };
  }

  /** The reason of each on-demand request the snapshots came from, by `namespace/name`. */
  private async requestReasons(snapshots: Snapshot[]): Promise<Map<string, string | undefined>> {
    const keys = new Set(
      snapshots.flatMap((s) => {
        const request = s.labels[LABEL_ON_DEMAND];
        return request ? [`${s.namespace}/${request}`] : [];
      }),
    );
    const reasons = new Map<string, string | undefined>();
    for (const key of keys) {
      const status = await this.gateway.snapshots.status(key).catch(() => undefined);
      reasons.set(key, status?.spec.reason);
    }
    return reasons;
  }
}

function view(s: Snapshot, reasons: Map<string, string | undefined>): SnapshotView {
  const expires = s.labels[LABEL_EXPIRES_AT];
  const expiresAt = expires ? parseScheduledAt(expires)?.toISOString() : undefined;
  const request = s.labels[LABEL_ON_DEMAND];
  const policy = s.labels[LABEL_POLICY];
  const origin: SnapshotOrigin = request
    ? { kind: 'on-demand', request, reason: reasons.get(`${s.namespace}/${request}`) }
    : policy
      ? { kind: 'policy', policy: `${s.namespace}/${policy}` }
      : { kind: 'other' };
  return expiresAt ? { ...s, origin, expiresAt } : { ...s, origin };
}
