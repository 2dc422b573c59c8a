import { IANAZone } from 'luxon';

// Checking a zone builds an Intl formatter, which is costly; the answer never changes.
const known = new Map<string, boolean>();

/**
 * True when `zone` names an IANA time zone the runtime knows (`UTC`, `Europe/Berlin`,
 * `America/New_York`). Fixed offsets such as `+01:00` and `Local` are rejected: schedules and
 * retention buckets must follow the zone's daylight-saving rules, not a frozen offset.
 */
export function isValidTimeZone(zone: string): boolean {
  let valid = known.get(zone);
  if (valid === undefined) {
    valid = IANAZone.isValidZone(zone);
    if (known.size < 1000) known.set(zone, valid);
  }
  return valid;
}
