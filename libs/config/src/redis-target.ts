/** One Sentinel's address. */
export interface SentinelAddress {
  host: string;
  port: number;
}

/** Where Redis is found through Sentinel: the sentinels, the monitored primary's name, passwords. */
export interface RedisSentinelSettings {
  sentinels: SentinelAddress[];
  /** The name the sentinels monitor the primary under (`sentinel monitor <name> …`). */
  name: string;
  /** Password of the sentinels themselves (`requirepass` in sentinel.conf), if any. */
  sentinelPassword?: string;
  /** Password of the primary and its replicas, if any. */
  password?: string;
}

const SCHEME = 'redis+sentinel:';

/**
 * The connection string of a Sentinel setup, as the rest of the process passes Redis targets
 * around: `redis+sentinel://[:password@]host:port,host:port/<name>[?sentinelPassword=…]`.
 * Every place that opens a connection turns it back into ioredis' sentinel options with
 * {@link parseSentinelUrl}.
 */
export function sentinelUrl(settings: RedisSentinelSettings): string {
  const auth = settings.password === undefined ? '' : `:${encodeURIComponent(settings.password)}@`;
  const hosts = settings.sentinels
    .map((s) => `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`)
    .join(',');
  const query =
    settings.sentinelPassword === undefined
      ? ''
      : `?sentinelPassword=${encodeURIComponent(settings.sentinelPassword)}`;
  return `${SCHEME}//${auth}${hosts}/${encodeURIComponent(settings.name)}${query}`;
}

/** The settings of a `redis+sentinel://` string, or `undefined` for a plain `redis://` URL. */
export function parseSentinelUrl(url: string): RedisSentinelSettings | undefined {
  if (!url.startsWith(`${SCHEME}//`)) return undefined;
  const match =
    /^redis\+sentinel:\/\/(?::([^@]*)@)?([^/]+)\/([^?]+)(?:\?sentinelPassword=(.*))?$/.exec(url);
  if (!match) throw new Error('malformed redis+sentinel connection string');
  const [, password, hosts = '', name = '', sentinelPassword] = match;
  return {
    sentinels: parseSentinelList(hosts),
    name: decodeURIComponent(name),
    ...(password === undefined ? {} : { password: decodeURIComponent(password) }),
    ...(sentinelPassword === undefined
      ? {}
      : { sentinelPassword: decodeURIComponent(sentinelPassword) }),
  };
}

/**
 * Parses `host:port,host:port` (IPv6 hosts in brackets: `[::1]:26379`). Throws with the
 * offending entry named.
 */
export function parseSentinelList(value: string): SentinelAddress[] {
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('must list at least one host:port');
  return entries.map((entry) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`"${entry}" is not host:port (port 1-65535)`);
    }
    return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
  });
}
