import { APPEND_EVENTS_FUNCTION } from './audit-scripts.js';
import { LuaScript } from './lua-script.js';

/**
 * Points a policy's entry in the latest-run hash at the run's index member when it is newer
 * than the one there (index members sort by time, then id). Shared by both scripts: a run
 * that ends (at start, or with its last volume) moves the pointer in the same atomic step.
 */
const POINT_LATEST = `
local function pointLatest(latest, run)
  local policy = redis.call('HGET', run, 'policy')
  local member = redis.call('HGET', run, 'member')
  if not policy or not member then return end
  local current = redis.call('HGET', latest, policy)
  if not current or current < member then redis.call('HSET', latest, policy, member) end
end
`;

/**
 * Creates a run unless it exists, and indexes it. Atomic, so a retried tick or a second
 * replica starting the same run id gets the existing record untouched. Two effects ride along:
 * events written (and the run marked announced) only when this call creates the run, and a
 * hash field moved forward (never back) whether or not it does.
 * KEYS: run hash, global index, other indexes (ARGV[2] of them), latest-run hash, event stream,
 * ledger hash. ARGV: index member, number of other indexes, number of field arguments, the
 * field/value pairs, announced field ('' for none), max events, number of events, the events,
 * ledger field ('' for none), ledger value.
 * Returns `{created (0|1), size of the global index, HGETALL of the run}`, the run only when
 * it existed: a created run holds exactly what the caller sent (a large run's volumes and
 * admission would otherwise travel back for nothing).
 */
export const START_RUN = new LuaScript(`${POINT_LATEST}${APPEND_EVENTS_FUNCTION}
local run = KEYS[1]
local others = tonumber(ARGV[2])
local fields = tonumber(ARGV[3])
local announce = 4 + fields
local events = tonumber(ARGV[announce + 2])
local ledger = announce + 3 + events
if ARGV[ledger] ~= '' then
  local previous = redis.call('HGET', KEYS[others + 5], ARGV[ledger])
  if previous == false or tonumber(previous) < tonumber(ARGV[ledger + 1]) then
    redis.call('HSET', KEYS[others + 5], ARGV[ledger], ARGV[ledger + 1])
  end
end
if redis.call('EXISTS', run) == 1 then
  return {0, redis.call('ZCARD', KEYS[2]), redis.call('HGETALL', run)}
end
for i = 4, 3 + fields, 2 do
  redis.call('HSET', run, ARGV[i], ARGV[i + 1])
end
redis.call('HSET', run, 'member', ARGV[1])
for i = 2, 2 + others do
  redis.call('ZADD', KEYS[i], 0, ARGV[1])
end
if events > 0 then appendEvents(KEYS[others + 4], ARGV[announce + 1], announce + 3, events) end
if ARGV[announce] ~= '' then redis.call('HSET', run, ARGV[announce], '1') end
if redis.call('HGET', run, 'state') ~= 'running' then pointLatest(KEYS[others + 3], run) end
return {1, redis.call('ZCARD', KEYS[2]), {}}
`);

/**
 * Sets one volume's result and, when it was the last open volume, the run's final state,
 * all in one atomic step: two volumes finishing at once in two processes both land, and
 * exactly one of them finishes the run. A terminal volume result is final (a duplicate or
 * late update, as at-least-once delivery produces, changes nothing).
 * `updateVolume(run, latest, field, json, nowIso, nowMs)`: the run hash, the latest-run hash,
 * the volume field, the result JSON (merged into the stored result), now ISO and ms. Returns
 * `{status, HGETALL of the run}` where the run is returned only with `finished` (reading every
 * volume of a large run on each update would make a run O(n²)); status is one of `missing`,
 * `unknown-volume`, `unchanged`, `updated`, `finished`.
 */
const UPDATE_VOLUME_FUNCTION = `${POINT_LATEST}
local function updateVolume(run, latest, field, json, nowIso, nowMs)
  if redis.call('EXISTS', run) == 0 then return {'missing', {}} end
  local stored = redis.call('HGET', run, field)
  if not stored then return {'unknown-volume', {}} end
  local current = cjson.decode(stored)
  local function terminal(state)
    return state == 'succeeded' or state == 'failed' or state == 'skipped'
  end
  if terminal(current.state) then return {'unchanged', {}} end
  for k, v in pairs(cjson.decode(json)) do current[k] = v end
  redis.call('HSET', run, field, cjson.encode(current))
  if not terminal(current.state) then return {'updated', {}} end
  redis.call('HINCRBY', run, 'n:' .. current.state, 1)
  local open = redis.call('HINCRBY', run, 'n:open', -1)
  if open > 0 or redis.call('HGET', run, 'state') ~= 'running' then
    return {'updated', {}}
  end
  local function count(f) return tonumber(redis.call('HGET', run, f) or '0') end
  local failed = count('n:failed')
  local ok = count('n:succeeded') + count('n:skipped')
  local state = 'partial'
  if failed == 0 then state = 'succeeded' elseif ok == 0 then state = 'failed' end
  local created = tonumber(redis.call('HGET', run, 'createdAtMs') or nowMs)
  local duration = math.max(0, tonumber(nowMs) - created)
  redis.call('HSET', run, 'state', state, 'finishedAt', nowIso, 'durationMs', string.format('%d', duration))
  pointLatest(latest, run)
  return {'finished', redis.call('HGETALL', run)}
end
`;

/**
 * {@link UPDATE_VOLUME_FUNCTION} alone.
 * KEYS: run hash, latest-run hash. ARGV: volume field, result JSON, now ISO, now ms.
 */
export const UPDATE_VOLUME = new LuaScript(`${UPDATE_VOLUME_FUNCTION}
return updateVolume(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
`);

/**
 * The end of one volume's job in one atomic step: the events it still has to report are
 * appended, the hash fields they settle are removed (the deletions they report, see
 * `DeletionIntents`), the leases it holds (a volume lock, a concurrency marker) are released
 * where it still holds them, and its result lands in the run as {@link UPDATE_VOLUME} does;
 * when that closes the run, `run.finished` is completed from the run's final state and
 * appended last (see `RunEndAnnouncement`). Events, removals and releases happen whatever the
 * update says (a run that is gone or a duplicate result): they report and end what the job
 * did. One round trip where the steps took one each.
 * KEYS: run hash, latest-run hash, audit stream, hash to remove fields from, lease keys...
 * ARGV: volume field, result JSON, now ISO, now ms, stream max length, event count n,
 * n event JSONs, field count m, m fields, one owner per lease key, then the run end's JSON
 * ('' for none) and its stream bound. Returns what {@link UPDATE_VOLUME} returns.
 */
export const FINISH_VOLUME = new LuaScript(`${UPDATE_VOLUME_FUNCTION}${APPEND_EVENTS_FUNCTION}
local events = tonumber(ARGV[6])
appendEvents(KEYS[3], ARGV[5], 7, events)
local fields = tonumber(ARGV[7 + events])
for i = 8 + events, 7 + events + fields do redis.call('HDEL', KEYS[4], ARGV[i]) end
local owners = 7 + events + fields
for i = 5, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[owners + i - 4] then redis.call('DEL', KEYS[i]) end
end
local reply = updateVolume(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local ending = ARGV[owners + #KEYS - 3]
if reply[1] == 'finished' and ending ~= '' then
  local run = KEYS[1]
  local event = cjson.decode(ending)
  local state = redis.call('HGET', run, 'state')
  local function count(f) return redis.call('HGET', run, f) or '0' end
  event.outcome = state == 'succeeded' and 'succeeded' or 'failed'
  event.time = ARGV[3]
  event.durationMs = tonumber(redis.call('HGET', run, 'durationMs'))
  event.message = state .. ': ' .. count('n:succeeded') .. ' succeeded, ' .. count('n:failed') ..
    ' failed, ' .. count('n:skipped') .. ' skipped'
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[owners + #KEYS - 2], '*', 'e', cjson.encode(event))
end
return reply
`);

/**
 * Appends a run's start events and marks it announced in one atomic step: the events are on
 * record exactly when the mark is (a retried tick that finds the mark writes nothing again).
 * KEYS: run hash, audit stream. ARGV: announced field, stream bound, event JSON...
 */
export const ANNOUNCE_RUN = new LuaScript(`${APPEND_EVENTS_FUNCTION}
appendEvents(KEYS[2], ARGV[2], 3, #ARGV - 2)
redis.call('HSET', KEYS[1], ARGV[1], '1')
return 1
`);
