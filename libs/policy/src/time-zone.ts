import { IANAZone } from 'luxon';

/**
 * True when `zone` names an IANA time zone the runtime knows (`UTC`, `Europe/Berlin`,
 * `America/New_York`). Fixed offsets such as `+01:00` and `Local` are rejected: schedules and
 * retention buckets must follow the zone's daylight-saving rules, not a frozen offset.
 */
export function isValidTimeZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}
