import type { AuditEvent } from '#lib/audit';

/** The filters of `GET /api/v1/events/stream`, as `GET /api/v1/events` names them. */
export interface EventMatch {
  policy?: string;
  namespace?: string;
  volume?: string;
  runId?: string;
  kind?: string;
  state?: string;
}

/** Whether `event` passes every given filter (`volume` may be `namespace/name`). */
export function matchesEvent(event: AuditEvent, match: EventMatch): boolean {
  const exact: [string | undefined, string | undefined][] = [
    [match.policy, event.policy],
    [match.namespace, event.namespace],
    [match.runId, event.runId],
    [match.kind, event.type],
    [match.state, event.outcome],
  ];
  if (exact.some(([wanted, actual]) => wanted !== undefined && wanted !== actual)) return false;
  return match.volume === undefined || matchesVolume(event, match.volume);
}

function matchesVolume(event: AuditEvent, volume: string): boolean {
  const slash = volume.indexOf('/');
  if (slash < 0) return event.volume === volume;
  return event.namespace === volume.slice(0, slash) && event.volume === volume.slice(slash + 1);
}
