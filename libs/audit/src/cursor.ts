import { InvalidQueryError } from './errors.js';

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;
const STREAM_TAG = 'e';
const RUN_TAG = 'r';

/** Width of the zero-padded millisecond part of a run index member; covers dates up to year 33658. */
export const RUN_TIME_DIGITS = 15;

/** Position in the run history: the run's `scheduledAt` in ms and its id (the index order). */
export interface RunPosition {
  timeMs: number;
  id: string;
}

function encode(tag: string, body: string): string {
  return Buffer.from(`${tag}:${body}`, 'utf8').toString('base64url');
}

function decode(tag: string, cursor: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidQueryError('cursor', 'malformed cursor');
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(`${tag}:`)) throw new InvalidQueryError('cursor', 'malformed cursor');
  return text.slice(tag.length + 1);
}

/** Whether `id` has the shape of a Redis stream entry id (`<ms>-<seq>`). */
export function isStreamId(id: string): boolean {
  return STREAM_ID.test(id);
}

/** Opaque cursor for the audit log: the stream id of the last entry a page covered. */
export function encodeStreamCursor(id: string): string {
  return encode(STREAM_TAG, id);
}

/**
 * Reads a cursor made by {@link encodeStreamCursor}.
 * @throws InvalidQueryError (`field: 'cursor'`) when it is not one.
 */
export function decodeStreamCursor(cursor: string): string {
  const id = decode(STREAM_TAG, cursor);
  if (!isStreamId(id)) throw new InvalidQueryError('cursor', 'malformed cursor');
  return id;
}

/** Orders two stream ids numerically (negative when `a` comes first). */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const byMs = BigInt(am) - BigInt(bm);
  if (byMs !== 0n) return byMs < 0n ? -1 : 1;
  const bySeq = BigInt(as) - BigInt(bs);
  return bySeq === 0n ? 0 : bySeq < 0n ? -1 : 1;
}

/**
 * The member a run has in every run index: `<scheduledAt ms, zero-padded>:<id>`. All members
 * share score 0, so lexicographic order is (time, id) order and a cursor seeks exactly, even
 * among the many runs that share one tick's `scheduledAt`.
 */
export function runIndexMember(position: RunPosition): string {
  const ms = Math.max(0, Math.trunc(position.timeMs));
  return `${String(ms).padStart(RUN_TIME_DIGITS, '0')}:${position.id}`;
}

/** Inverse of {@link runIndexMember}; `undefined` for anything else. */
export function parseRunIndexMember(member: string): RunPosition | undefined {
  const digits = member.slice(0, RUN_TIME_DIGITS);
  if (!/^\d+$/.test(digits) || digits.length !== RUN_TIME_DIGITS) return undefined;
  if (member[RUN_TIME_DIGITS] !== ':' || member.length === RUN_TIME_DIGITS + 1) return undefined;
  return { timeMs: Number(digits), id: member.slice(RUN_TIME_DIGITS + 1) };
}

/** Opaque cursor for the run history: the (time, id) position of the last run a page covered. */
export function encodeRunCursor(position: RunPosition): string {
  return encode(RUN_TAG, runIndexMember(position));
}

/**
 * Reads a cursor made by {@link encodeRunCursor}.
 * @throws InvalidQueryError (`field: 'cursor'`) when it is not one.
 */
export function decodeRunCursor(cursor: string): RunPosition {
  const position = parseRunIndexMember(decode(RUN_TAG, cursor));
  if (!position) throw new InvalidQueryError('cursor', 'malformed cursor');
  return position;
}
