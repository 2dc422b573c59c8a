import { Controller, Get, Inject, Query } from '@nestjs/common';
import type { SnapshotDriver, Snapshot, Volume } from '#lib/storage';
import type { PolicyStore } from '#lib/engine';
import { DRIVER, POLICY_STORE, RUN_STORE } from '#lib/runtime';
import { VolumesQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import {
  policyIntervals,
  policySelections,
  shortestInterval,
  volumeKey,
} from './volume-policies.js';
import type { RunStore } from '#lib/audit';
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
  /** Keys of the policies selecting the volume; none means it is unprotected. */
  policies: string[];
  /** The volume's result in the newest run that finished it (any kind). */
  lastResult?: { runId: string; kind: string; state: string; error?: string; at: string };
}

/** How many of a volume's newest runs are read to find its last finished result. */
const LAST_RESULT_RUNS = 5;

@ApiTags('volumes')
@Controller('api/v1/volumes')
export class VolumesController {
  constructor(
    @Inject(DRIVER) private readonly driver: SnapshotDriver,
    @Inject(POLICY_STORE) private readonly policies: PolicyStore,
    @Inject(RUN_STORE) private readonly runs: RunStore,
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
    const { byVolume } = await policySelections(this.driver, policies);
    const items = await Promise.all(
      volumes.map(async (v) => {
        const selecting = byVolume.get(volumeKey(v)) ?? [];
        return {
          ...(await this.view(v)),
          policyIntervalSeconds: shortestInterval(selecting, intervals),
          policies: selecting.map((p) => p.key),
          lastResult: await this.lastResult(v),
        };
      }),
    );
    return { items };
  }

  private async lastResult(volume: Volume): Promise<VolumeView['lastResult']> {
    const last = await this.runs.lastVolumeResult(volume.namespace, volume.name, LAST_RESULT_RUNS);
    if (!last) return undefined;
    const own = last.result;
    const at = own.finishedAt ?? last.finishedAt ?? last.scheduledAt;
    const result = { runId: last.runId, kind: last.kind, state: own.state, at };
    return own.error === undefined ? result : { ...result, error: own.error };
  }

  private async view(volume: Volume): Promise<Omit<VolumeView, 'policies'>> {
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
