import { el } from './dom.js';

/** The browser's own time zone (for times that belong to no policy). */
export const LOCAL_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

const formats = new Map<string, Intl.DateTimeFormat>();

function formatIn(zone: string): Intl.DateTimeFormat {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formats.set(zone, format);
  }
  return format;
}

/** `2026-12-03 02:00:00 GMT+1` in `zone` (the browser's by default), or an em dash. */
export function when(iso: string | undefined, zone: string = LOCAL_ZONE): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const parts = Object.fromEntries(
    formatIn(zone)
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}

/** `in 3 h`, `2 min ago`, `just now`, relative to `now`. */
export function relative(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const ms = Date.parse(iso) - now;
  if (Number.isNaN(ms)) return '';
  const abs = Math.abs(ms);
  if (abs < 5_000) return 'just now';
  const [value, unit] =
    abs < 60_000
      ? [Math.round(abs / 1000), 's']
      : abs < 3_600_000
        ? [Math.round(abs / 60_000), 'min']
        : abs < 172_800_000
          ? [Math.round(abs / 3_600_000), 'h']
          : [Math.round(abs / 86_400_000), 'd'];
  return ms > 0 ? `in ${value} ${unit}` : `${value} ${unit} ago`;
}

/**
 * A `<time>`: the time in `zone` with its zone, and how far from now, e.g.
 * `2026-12-03 02:00:00 GMT+1 (in 3 h)`; the tooltip names the IANA zone.
 */
export function timeEl(iso: string | undefined, zone: string = LOCAL_ZONE): HTMLElement {
  if (!iso) return el('span', { text: '—' });
  const rel = relative(iso);
  return el('time', {
    text: rel ? `${when(iso, zone)} (${rel})` : when(iso, zone),
    attrs: { datetime: iso, title: `${zone}: ${when(iso, zone)}` },
  });
}

/** A duration in ms as `850 ms`, `12.3 s`, `4 min 5 s`. */
export function duration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Bytes as `512 B`, `4.0 KiB`, `1.2 GiB`, or an em dash. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The p-th percentile (0–100) of `values`, nearest rank; undefined when empty. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[rank];
}

/** A compact `<time>` (`21:19:52`, the browser's zone) with the full time as its tooltip. */
export function shortTimeEl(iso: string): HTMLElement {
  const full = when(iso);
  return el('time', { text: full.slice(11, 19), attrs: { datetime: iso, title: full } });
}
