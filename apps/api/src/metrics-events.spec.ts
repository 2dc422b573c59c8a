import { Registry } from 'prom-client';
import type { AuditEvent } from '#lib/audit';
import { createEventMetrics } from './metrics-events.js';

function event(fields: Partial<AuditEvent> & Pick<AuditEvent, 'type' | 'outcome'>): AuditEvent {
  return { id: '1-0', time: '2026-01-01T00:00:00.000Z', trigger: 'schedule', ...fields };
}

describe('event-fed metrics', () => {
  it('counts finished runs by policy and the state their message names', async () => {
    const registry = new Registry();
    const metrics = createEventMetrics(registry);
    metrics.record(
      event({
        type: 'run.finished',
        outcome: 'failed',
        policy: 'default/a',
        message: 'partial: 1 succeeded, 1 failed, 0 skipped',
      }),
    );
    metrics.record(
      event({
        type: 'run.finished',
        outcome: 'succeeded',
        policy: 'default/a',
        message: 'succeeded: 2 succeeded, 0 failed, 0 skipped',
      }),
    );
    metrics.record(event({ type: 'run.missed', outcome: 'missed', policy: 'default/a' }));
    const text = await registry.metrics();
    expect(text).toContain('snapwarden_runs_total{policy="default/a",result="partial"} 1');
    expect(text).toContain('snapwarden_runs_total{policy="default/a",result="succeeded"} 1');
    expect(text).toContain('snapwarden_runs_total{policy="default/a",result="missed"} 1');
    expect(text).toContain('snapwarden_missed_runs_total{policy="default/a"} 1');
  });

  it('observes operation durations in seconds by operation', async () => {
    const registry = new Registry();
    const metrics = createEventMetrics(registry);
    metrics.record(event({ type: 'snapshot.ready', outcome: 'succeeded', durationMs: 1500 }));
    metrics.record(event({ type: 'snapshot.created', outcome: 'succeeded' }));
    const text = await registry.metrics();
    expect(text).toContain('snapwarden_operation_duration_seconds_sum{operation="ready"} 1.5');
    expect(text).toContain('snapwarden_operation_duration_seconds_count{operation="ready"} 1');
    expect(text).not.toContain('operation="create"');
  });

  it('counts hooks by phase and result, and observes their durations', async () => {
    const registry = new Registry();
    const metrics = createEventMetrics(registry);
    const hook = (
      type: 'hook.started' | 'hook.succeeded' | 'hook.failed' | 'hook.skipped',
      phase: string,
    ) => event({ type, outcome: 'info', durationMs: 250, attributes: { phase, hook: 'freeze' } });
    metrics.record(hook('hook.started', 'pre'));
    metrics.record(hook('hook.failed', 'pre'));
    metrics.record(hook('hook.succeeded', 'post'));
    metrics.record(hook('hook.skipped', 'post'));
    const text = await registry.metrics();
    expect(text).toContain('snapwarden_hooks_total{phase="pre",result="failed"} 1');
    expect(text).toContain('snapwarden_hooks_total{phase="post",result="succeeded"} 1');
    expect(text).toContain('snapwarden_hooks_total{phase="post",result="skipped"} 1');
    expect(text).not.toContain('result="started"');
    expect(text).toContain('snapwarden_operation_duration_seconds_count{operation="hook"} 2');
  });
});
