import { LuaScript } from './lua-script.js';

/**
 * Lua function appending JSON events to a stream in the one-field layout of `toStreamFields`
 * (`e` = the event as JSON), each with `MAXLEN ~ maxLen`. Shared by {@link APPEND_EVENTS} and
 * the run scripts that write a volume's events in the same atomic step as its result.
 * `appendEvents(stream, maxLen, first, count)` appends `ARGV[first .. first + count - 1]` and
 * returns their ids.
 */
export const APPEND_EVENTS_FUNCTION = `
local function appendEvents(stream, maxLen, first, count)
  local ids = {}
  for i = first, first + count - 1 do
    ids[#ids + 1] = redis.call('XADD', stream, 'MAXLEN', '~', maxLen, '*', 'e', ARGV[i])
  end
  return ids
end
`;

/**
 * Appends several events in one atomic step, in order. One command for the whole batch where a
 * MULTI/EXEC transaction costs two more and one per event.
 * KEYS: stream. ARGV: maxLen, event JSON... Returns the ids.
 */
export const APPEND_EVENTS = new LuaScript(`${APPEND_EVENTS_FUNCTION}
return appendEvents(KEYS[1], ARGV[1], 2, #ARGV - 1)
`);
