import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { PolicyStore } from '#lib/engine';
import { DRIVER, POLICY_STORE, QueueRegistry } from '#lib/runtime';
import type { SnapshotDriver } from '#lib/storage';
import { AuditFeed } from './audit-feed.js';
import { createEventMetrics } from './metrics-events.js';
import { createGaugeMetrics, type GaugeMetrics } from './metrics-gauges.js';

/**
 * The Prometheus metrics of `/metrics`: counters and histograms fed from the audit live tail
 * (so they count every replica's work), stalled jobs from BullMQ's queue events, and gauges
 * (volumes against their caps, freshness, queue depth) computed at scrape time.
 */
/** Sampling interval of the event-loop lag histogram (ms). */
export const EVENT_LOOP_SAMPLE_MS = 100;

@Injectable()
export class MetricsService implements OnApplicationBootstrap, OnModuleDestroy {
  /** The registry `/metrics` renders (one per app, not prom-client's global one). */
  readonly registry = new Registry();
  private readonly gauges: GaugeMetrics;
  private readonly stalled: Counter<'queue'>;
  private readonly listeners: { events: QueueEvents; connection: Redis }[] = [];
  private stopFeed: (() => void) | undefined;

  constructor(
    @Inject(AuditFeed) private readonly feed: AuditFeed,
    @Inject(DRIVER) driver: SnapshotDriver,
    @Inject(POLICY_STORE) policies: PolicyStore,
    @Inject(QueueRegistry) private readonly queues: QueueRegistry,
  ) {
    // prom-client's process_* and nodejs_* families under our one prefix. The event-loop lag
    // histogram samples every 100 ms, not prom-client's 10 ms: a 10 ms timer wakes an idle
    // process 100 times a second, which alone cost ~1 % of a core; lag worth alerting on
    // lasts far longer than 100 ms.
    collectDefaultMetrics({
      register: this.registry,
      prefix: 'snapwarden_',
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
    });
    // Gauges named *_total break the Prometheus naming rules (promtool check metrics); each is
    // the sum of its by-type gauge without the suffix, which stays.
    for (const name of [
      'active_handles_total',
      'active_requests_total',
      'active_resources_total',
    ]) {
      this.registry.removeSingleMetric(`snapwarden_nodejs_${name}`);
    }
    this.gauges = createGaugeMetrics(this.registry, {
      driver,
      policies: () => policies.list(),
      queues: () => queues.all(),
    });
    this.stalled = new Counter({
      name: 'snapwarden_queue_stalled_jobs_total',
      help: 'Jobs whose worker stopped renewing the lock (moved back to waiting or failed).',
      labelNames: ['queue'],
      registers: [this.registry],
    });
  }

  onApplicationBootstrap(): void {
    const events = createEventMetrics(this.registry);
    this.stopFeed = this.feed.listen((event) => events.record(event));
    for (const queue of this.queues.all()) {
      const connection = this.queues.workerConnection(`metrics-${queue.name}`);
      const queueEvents = new QueueEvents(queue.name, { connection, prefix: this.queues.prefix });
      queueEvents.on('stalled', () => this.stalled.inc({ queue: queue.name }));
      queueEvents.on('error', () => undefined);
      this.listeners.push({ events: queueEvents, connection });
    }
  }

  /** The exposition text, after refreshing the scrape-time gauges. */
  async render(now = new Date()): Promise<string> {
    await this.gauges.refresh(now);
    return this.registry.metrics();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopFeed?.();
    await Promise.all(
      this.listeners.splice(0).map(async ({ events, connection }) => {
        await events.close().catch(() => undefined);
        connection.disconnect();
      }),
    );
  }
}
