import { Controller, Get, Inject, Query } from '@nestjs/common';
import type { SnapshotDriver, Snapshot, Volume } from '#lib/storage';
import type { PolicyStore } from '#lib/engine';
import { DRIVER, POLICY_STORE } from '#lib/runtime';
import { VolumesQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import { policyIntervals, volumeInterval } from './volume-policies.js';
import { ApiTags } from '@nestjs/swagger';
import { ApiQueryFrom } from './api-query.decorator.js';

/** A volume as the API shows it: its snapshots against the cap and its last ready snapshot. */
export interface VolumeView {
  namespace: string;
  name: string;
  uid: string;
  phase: string;
  labels: Record<string, string>;
  sizeBytes?: number;
  snapshots: number;
  cap: number;
  lastReadySnapshot?: string;
  lastReadyTime?: string;
  /** Shortest schedule interval of the active policies selecting the volume, in seconds. */
  policyIntervalSeconds?: number;
}

@ApiTags('volumes')
@Controller('api/v1/volumes')
export class VolumesController {
  constructor(
    @Inject(DRIVER) private readonly driver: SnapshotDriver,
    @Inject(POLICY_STORE) private readonly policies: PolicyStore,
  ) {}

  @Get()
  @ApiQueryFrom(VolumesQuerySchema)
  async list(@Query() query: unknown): Promise<{ items: VolumeView[] }> {
    const { namespace } = parseInput(VolumesQuerySchema, query, 'query');
    const [volumes, policies] = await Promise.all([
      this.driver.listVolumes(namespace),
      this.policies.list(),
    ]);
    const intervals = policyIntervals(policies, new Date());
    const items = await Promise.all(
      volumes.map(async (v) => ({
        ...(await this.view(v)),
        policyIntervalSeconds: volumeInterval(v, policies, intervals),
      })),
    );
    return { items };
  }

  private async view(volume: Volume): Promise<VolumeView> {
    const [snapshots, caps] = await Promise.all([
      this.driver.listSnapshots(volume),
      this.driver.capabilities(volume),
    ]);
    const lastReady = newestReady(snapshots);
    return {
      namespace: volume.namespace,
      name: volume.name,
      uid: volume.uid,
      phase: volume.phase,
      labels: volume.labels,
      sizeBytes: volume.sizeBytes,
      snapshots: snapshots.length,
      cap: caps.maxSnapshotsPerVolume,
      lastReadySnapshot: lastReady?.name,
      lastReadyTime: lastReady?.createdAt.toISOString(),
    };
  }
}

function newestReady(snapshots: Snapshot[]): Snapshot | undefined {
  return snapshots
    .filter((s) => s.readyToUse)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
}
