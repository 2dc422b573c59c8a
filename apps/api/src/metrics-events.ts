import { Counter, Histogram, type Registry } from 'prom-client';
import type { AuditEvent } from '#lib/audit';

/** The operation a duration-bearing audit event measures. */
const OPERATIONS: Partial<Record<string, string>> = {
  'snapshot.created': 'create',
  'snapshot.ready': 'ready',
  'snapshot.deleted': 'delete',
  'restore.succeeded': 'restore',
  'restore.failed': 'restore',
  'hook.succeeded': 'hook',
  'hook.failed': 'hook',
};

/** Counters and histograms fed from the audit live tail. */
export interface EventMetrics {
  /** Counts one audit event into the series it belongs to (others are ignored). */
  record(event: AuditEvent): void;
}

/** Registers the event-fed series on `registry`. */
export function createEventMetrics(registry: Registry): EventMetrics {
  const runs = new Counter({
    name: 'snapwarden_runs_total',
    help: 'Finished runs by policy and result (succeeded, failed, partial, missed, skipped).',
    labelNames: ['policy', 'result'] as const,
    registers: [registry],
  });
  const missed = new Counter({
    name: 'snapwarden_missed_runs_total',
    help: 'Scheduled runs that did not start in time, by policy.',
    labelNames: ['policy'] as const,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'snapwarden_operation_duration_seconds',
    help: 'Duration of snapshot and restore operations: create, ready, delete, restore, hook.',
    labelNames: ['operation'] as const,
    buckets: [0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  const hooks = new Counter({
    name: 'snapwarden_hooks_total',
    help: 'Hook executions by phase (pre, post) and result (succeeded, failed, skipped).',
    labelNames: ['phase', 'result'] as const,
    registers: [registry],
  });
  return {
    record(event) {
      if (
        event.type === 'hook.succeeded' ||
        event.type === 'hook.failed' ||
        event.type === 'hook.skipped'
      ) {
        hooks.inc({ phase: String(event.attributes?.phase ?? ''), result: event.type.slice(5) });
      }
      const policy = event.policy ?? '';
      if (event.type === 'run.finished') runs.inc({ policy, result: runResult(event) });
      else if (event.type === 'run.skipped') runs.inc({ policy, result: 'skipped' });
      else if (event.type === 'run.missed') {
        runs.inc({ policy, result: 'missed' });
        missed.inc({ policy });
      }
      const operation = OPERATIONS[event.type];
      if (operation && typeof event.durationMs === 'number') {
        durations.observe({ operation }, event.durationMs / 1000);
      }
    },
  };
}

/** A finished run's state: the message starts with it (`partial: 1 succeeded, …`). */
function runResult(event: AuditEvent): string {
  const state = /^(succeeded|failed|partial):/.exec(event.message ?? '')?.[1];
  return state ?? event.outcome;
}
