import type { AuditEventInput } from './audit-event.js';
import {
  fromStreamEntry,
  prepareEvent,
  toFlatStreamFields,
  toStreamFields,
} from './audit-codec.js';

const NOW = new Date('2025-03-30T01:30:00.000Z');

describe('audit event codec', () => {
  it.each([
    ['the JSON field', toStreamFields],
    ['flat stream fields (the former layout)', toFlatStreamFields],
  ])('round-trips every field through %s', (_layout, encode) => {
    const input: AuditEventInput = {
      type: 'snapshot.failed',
      outcome: 'failed',
      trigger: 'schedule',
      policy: 'shop/nightly',
      namespace: 'shop',
      volume: 'data-db-0',
      snapshot: 'nightly-data-db-0-20250330',
      runId: 'run-1',
      jobId: 'job-1',
      durationMs: 1234,
      error: 'quota exceeded: 7 snapshots',
      message: 'creating snapshot',
      reason: 'cap',
      attributes: { attempt: 2, final: false, driver: 'csi' },
    };
    const event = prepareEvent(input, NOW);
    expect(fromStreamEntry('1-0', encode(event))).toEqual({
      ...input,
      id: '1-0',
      time: NOW.toISOString(),
    });
  });

  it('uses the given time over now and leaves absent optionals absent', () => {
    const time = new Date('2024-01-01T00:00:00.000Z');
    const event = prepareEvent(
      { type: 'run.missed', outcome: 'missed', trigger: 'schedule', time },
      NOW,
    );
    expect(event).toEqual({
      type: 'run.missed',
      outcome: 'missed',
      trigger: 'schedule',
      time: time.toISOString(),
    });
    expect(toStreamFields(event)).toEqual(['e', JSON.stringify(event)]);
    expect(toFlatStreamFields(event)).toHaveLength(8);
  });

  it('skips entries that are not events of a known type', () => {
    const fields = ['type', 'snapshot.exploded', 'outcome', 'failed', 'trigger', 'x', 'time', 't'];
    expect(fromStreamEntry('1-0', fields)).toBeUndefined();
    expect(fromStreamEntry('1-0', ['type', 'run.started'])).toBeUndefined();
  });

  it('skips an entry whose JSON is corrupt', () => {
    expect(fromStreamEntry('1-0', ['e', '{nope'])).toBeUndefined();
    expect(fromStreamEntry('1-0', ['e', '[]'])).toBeUndefined();
  });

  it('ignores corrupt attributes rather than the whole event', () => {
    const fields = ['type', 'run.started', 'outcome', 'started', 'trigger', 'cli', 'time', 't'];
    expect(fromStreamEntry('1-0', [...fields, 'attributes', '{nope'])).toEqual({
      id: '1-0',
      type: 'run.started',
      outcome: 'started',
      trigger: 'cli',
      time: 't',
    });
  });
});
