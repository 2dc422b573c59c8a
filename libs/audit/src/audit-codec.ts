import {
  type AuditAttributes,
  type AuditEvent,
  type AuditEventInput,
  isAuditEventType,
  isAuditOutcome,
} from './audit-event.js';

/** An event before Redis gave it an id: the input with its time fixed. */
export type UnsavedAuditEvent = Omit<AuditEvent, 'id'>;

const TEXT_FIELDS = [
  'policy',
  'namespace',
  'volume',
  'snapshot',
  'runId',
  'jobId',
  'error',
  'message',
  'reason',
] as const;

type TextField = (typeof TEXT_FIELDS)[number];

/** Fixes the event's time (`now` unless the input carries one) and drops empty optionals. */
export function prepareEvent(input: AuditEventInput, now: Date): UnsavedAuditEvent {
  const event: UnsavedAuditEvent = {
    type: input.type,
    outcome: input.outcome,
    trigger: input.trigger,
    time: (input.time ?? now).toISOString(),
  };
  for (const field of TEXT_FIELDS) {
    const value = input[field];
    if (value !== undefined) event[field] = value;
  }
  if (input.durationMs !== undefined) event.durationMs = input.durationMs;
  if (input.attributes && Object.keys(input.attributes).length > 0) {
    event.attributes = { ...input.attributes };
  }
  return event;
}

/**
 * Field/value list for XADD: the whole event as one JSON field `e`. One field rather than one
 * per event field: the audit log is written several times per snapshot, and each extra
 * argument costs encoding time on the writer (measured in `npm run bench`).
 */
export function toStreamFields(event: UnsavedAuditEvent): string[] {
  return ['e', toStreamJson(event)];
}

/** The value of the `e` field (see {@link toStreamFields}), also what the event scripts take. */
export function toStreamJson(event: UnsavedAuditEvent): string {
  return JSON.stringify(event);
}

/** The former layout, one stream field per event field; still read by `fromStreamEntry`. */
export function toFlatStreamFields(event: UnsavedAuditEvent): string[] {
  const fields = ['type', event.type, 'outcome', event.outcome, 'trigger', event.trigger];
  fields.push('time', event.time);
  for (const field of TEXT_FIELDS) {
    const value = event[field];
    if (value !== undefined) fields.push(field, value);
  }
  if (event.durationMs !== undefined) fields.push('durationMs', String(event.durationMs));
  if (event.attributes) fields.push('attributes', JSON.stringify(event.attributes));
  return fields;
}

function parseAttributes(json: string | undefined): AuditAttributes | undefined {
  if (json === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const attributes: AuditAttributes = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
        attributes[key] = item;
      }
    }
    return attributes;
  } catch {
    return undefined;
  }
}

function toMap(fields: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] ?? '', fields[i + 1] ?? '');
  return map;
}

/**
 * Reads one stream entry back into an event; `undefined` when the entry is not a well-formed
 * event (unknown type or outcome, e.g. written by a newer version), so readers skip it.
 */
export function fromStreamEntry(id: string, fields: readonly string[]): AuditEvent | undefined {
  const map = entryMap(fields);
  if (!map) return undefined;
  const type = map.get('type') ?? '';
  const outcome = map.get('outcome') ?? '';
  const trigger = map.get('trigger');
  const time = map.get('time');
  if (!isAuditEventType(type) || !isAuditOutcome(outcome)) return undefined;
  if (trigger === undefined || time === undefined) return undefined;
  const event: AuditEvent = { id, type, outcome, trigger, time };
  for (const field of TEXT_FIELDS) copyText(map, event, field);
  const duration = Number(map.get('durationMs'));
  if (map.has('durationMs') && Number.isFinite(duration)) event.durationMs = duration;
  const attributes = parseAttributes(map.get('attributes'));
  if (attributes) event.attributes = attributes;
  return event;
}

function entryMap(fields: readonly string[]): Map<string, string> | undefined {
  return fields[0] === 'e' ? fromJsonField(fields[1]) : toMap(fields);
}

/** The JSON layout as the same map the flat layout gives, so one validation path reads both. */
function fromJsonField(json: string | undefined): Map<string, string> | undefined {
  try {
    const value: unknown = JSON.parse(json ?? '');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const map = new Map<string, string>();
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'attributes') map.set(key, JSON.stringify(item));
      else if (typeof item === 'string' || typeof item === 'number') map.set(key, String(item));
    }
    return map;
  } catch {
    return undefined;
  }
}

function copyText(map: Map<string, string>, event: AuditEvent, field: TextField): void {
  const value = map.get(field);
  if (value !== undefined) event[field] = value;
}
