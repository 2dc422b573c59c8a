import { Gauge, type Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import { selectVolumes, type StoredPolicy } from '#lib/engine';
import type { Snapshot, SnapshotDriver, Volume } from '#lib/storage';
import {
  policyIntervals,
  policySelections,
  shortestInterval,
  volumeKey,
} from './volume-policies.js';

/** Where the scrape-time gauges read from. */
export interface GaugeSources {
  driver: SnapshotDriver;
  policies: () => Promise<StoredPolicy[]>;
  queues: () => Queue[];
}

/** Gauges computed at scrape time; {@link GaugeMetrics.refresh} sets them all. */
export interface GaugeMetrics {
  refresh(now: Date): Promise<void>;
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** Registers the scrape-time gauges on `registry`. */
export function createGaugeMetrics(registry: Registry, sources: GaugeSources): GaugeMetrics {
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  const snapshots = gauge('snapwarden_volume_snapshots', 'Snapshots of a volume.', [
    'namespace',
    'volume',
  ]);
  const cap = gauge('snapwarden_volume_snapshot_cap', "The volume's snapshot cap.", [
    'namespace',
    'volume',
  ]);
  const sinceReady = gauge(
    'snapwarden_volume_seconds_since_last_ready_snapshot',
    'Seconds since the newest ready snapshot of a volume was taken (absent: none).',
    ['namespace', 'volume'],
  );
  const interval = gauge(
    'snapwarden_volume_policy_interval_seconds',
    'Shortest schedule interval of the active policies selecting a volume.',
    ['namespace', 'volume'],
  );
  const policyInterval = gauge(
    'snapwarden_policy_interval_seconds',
    'Interval between the next two runs of an active policy.',
    ['policy'],
  );
  const selected = gauge(
    'snapwarden_policy_selected_volumes',
    'Volumes an active policy selects now; 0 means its selector and claimNames match nothing.',
    ['policy'],
  );
  const missingClaims = gauge(
    'snapwarden_policy_missing_claims',
    'Claims an active policy names in claimNames that do not exist (each fails every run).',
    ['policy'],
  );
  const queueJobs = gauge('snapwarden_queue_jobs', 'Jobs of a queue by state.', ['queue', 'state']);
  return {
    async refresh(now) {
      const [volumes, policies] = await Promise.all([
        sources.driver.listVolumes(),
        sources.policies(),
      ]);
      const intervals = policyIntervals(policies, now);
      const selections = await policySelections(sources.driver, policies);
      for (const gaugeOf of [snapshots, cap, sinceReady, interval, policyInterval, queueJobs]) {
        gaugeOf.reset();
      }
      setSelection(policies, selections.found, selected, missingClaims);
      for (const [policy, seconds] of intervals) policyInterval.set({ policy }, seconds);
      await Promise.all(
        volumes.map(async (volume) => {
          const labels = { namespace: volume.namespace, volume: volume.name };
          const [list, caps] = await Promise.all([
            sources.driver.listSnapshots(volume),
            sources.driver.capabilities(volume),
          ]);
          snapshots.set(labels, list.length);
          cap.set(labels, caps.maxSnapshotsPerVolume);
          const ready = newestReady(list);
          if (ready) sinceReady.set(labels, (now.getTime() - ready.createdAt.getTime()) / 1000);
          const selecting = selections.byVolume.get(volumeKey(volume)) ?? [];
          const shortest = shortestInterval(selecting, intervals);
          if (shortest !== undefined) interval.set(labels, shortest);
        }),
      );
      await Promise.all(
        sources.queues().map(async (queue) => {
          const counts = await queue.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES)
            queueJobs.set({ queue: queue.name, state }, counts[state] ?? 0);
        }),
      );
    },
  };
}

function newestReady(snapshots: Snapshot[]): Snapshot | undefined {
  return snapshots
    .filter((s) => s.readyToUse)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
}

/** Per unsuspended policy: how many volumes it selects and how many named claims are missing. */
function setSelection(
  policies: StoredPolicy[],
  found: Map<string, Volume[]>,
  selected: Gauge,
  missing: Gauge,
): void {
  selected.reset();
  missing.reset();
  for (const stored of policies.filter((p) => !p.policy.spec.suspend)) {
    const result = selectVolumes(found.get(stored.key) ?? [], stored.policy.spec);
    selected.set({ policy: stored.key }, result.selected.length);
    missing.set({ policy: stored.key }, result.skipped.filter((s) => s.missing).length);
  }
}
