import { ConfigError, loadConfig, parseSentinelUrl } from '#lib/config';

describe('loadConfig', () => {
  it('applies the documented defaults in local mode', () => {
    const config = loadConfig({}, '/srv');
    expect(config).toMatchObject({
      mode: 'local',
      port: 8080,
      dataDir: '/srv/data',
      policyDir: '/srv/policies',
      roles: ['scheduler', 'worker', 'api'],
      driver: 'local',
      maxSnapshotsPerVolume: 7,
      resyncIntervalMs: 60_000,
      cleanupIntervalMs: 60_000,
      failedSnapshotGraceMs: 3_600_000,
    });
    expect(config.redisUrl).toBeUndefined();
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(8080);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ SNAPWARDEN_MODE: 'cloud' }, 'SNAPWARDEN_MODE'],
    [{ SNAPWARDEN_ROLES: 'api,janitor' }, 'SNAPWARDEN_ROLES'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ SNAPWARDEN_API_TOKEN: 'short' }, 'SNAPWARDEN_API_TOKEN'],
    [{ SNAPWARDEN_RESYNC_INTERVAL: 'soon' }, 'SNAPWARDEN_RESYNC_INTERVAL'],
    [{ SNAPWARDEN_CLEANUP_INTERVAL: 'often' }, 'SNAPWARDEN_CLEANUP_INTERVAL'],
    [{ SNAPWARDEN_CLEANUP_INTERVAL: '0s' }, 'SNAPWARDEN_CLEANUP_INTERVAL'],
    [{ SNAPWARDEN_CLEANUP_INTERVAL: '500' }, 'SNAPWARDEN_CLEANUP_INTERVAL'],
    [{ SNAPWARDEN_FAILED_SNAPSHOT_GRACE: '1 hour' }, 'SNAPWARDEN_FAILED_SNAPSHOT_GRACE'],
    [{ SNAPWARDEN_FAILED_SNAPSHOT_GRACE: '-1h' }, 'SNAPWARDEN_FAILED_SNAPSHOT_GRACE'],
    [{ SNAPWARDEN_MODE: 'kubernetes' }, 'REDIS_URL'],
    [{ SNAPWARDEN_KUBE_QPS: '0' }, 'SNAPWARDEN_KUBE_QPS'],
    [{ SNAPWARDEN_KUBE_BURST: 'many' }, 'SNAPWARDEN_KUBE_BURST'],
    [{ SNAPWARDEN_KUBE_QPS: '50', SNAPWARDEN_KUBE_BURST: '10' }, 'SNAPWARDEN_KUBE_BURST'],
    [{ SNAPWARDEN_NAMESPACE: 'Shop_Prod' }, 'SNAPWARDEN_NAMESPACE'],
    [{ REDIS_SENTINELS: 'a:26379,b', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: 'a:99999', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: ' , ', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: 'a:26379' }, 'REDIS_SENTINEL_NAME'],
    [{ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'my primary' }, 'REDIS_SENTINEL_NAME'],
    [{ REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINEL_NAME'],
    [{ REDIS_SENTINEL_PASSWORD: 'secret' }, 'REDIS_SENTINEL_PASSWORD'],
    [{ REDIS_PASSWORD: 'secret' }, 'REDIS_PASSWORD'],
    [
      { REDIS_URL: 'redis://r:6379', REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'm' },
      'REDIS_URL',
    ],
  ])('rejects %p naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.variable)).toContain(variable);
      expect((error as ConfigError).message).toContain(variable);
    }
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' })).toThrow(/PORT[\s\S]*LOG_LEVEL/);
  });

  it('parses roles and durations', () => {
    const config = loadConfig({
      SNAPWARDEN_ROLES: 'worker, api',
      SNAPWARDEN_READY_TIMEOUT: '1h30m',
    });
    expect(config.roles).toEqual(['worker', 'api']);
    expect(config.readyTimeoutMs).toBe(5_400_000);
  });

  it('parses the cleanup interval (at least 1s) and the failed-snapshot grace', () => {
    const config = loadConfig({
      SNAPWARDEN_CLEANUP_INTERVAL: '1s',
      SNAPWARDEN_FAILED_SNAPSHOT_GRACE: '2h30m',
    });
    expect(config.cleanupIntervalMs).toBe(1000);
    expect(config.failedSnapshotGraceMs).toBe(9_000_000);
    expect(loadConfig({ SNAPWARDEN_CLEANUP_INTERVAL: '5m' }).cleanupIntervalMs).toBe(300_000);
    expect(loadConfig({ SNAPWARDEN_FAILED_SNAPSHOT_GRACE: '0s' }).failedSnapshotGraceMs).toBe(0);
  });

  it('names the minimum when the cleanup interval is below 1s, and only the format when unreadable', () => {
    expect(() => loadConfig({ SNAPWARDEN_CLEANUP_INTERVAL: '0s' })).toThrow(
      /SNAPWARDEN_CLEANUP_INTERVAL: must be at least 1s/,
    );
    try {
      loadConfig({ SNAPWARDEN_CLEANUP_INTERVAL: 'often' });
      throw new Error('accepted');
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        {
          variable: 'SNAPWARDEN_CLEANUP_INTERVAL',
          message: 'must be a duration such as 30d, 12h or 90s',
        },
      ]);
    }
  });

  it('takes a memory driver seed file only with the memory driver, as an absolute path', () => {
    const config = loadConfig(
      { SNAPWARDEN_DRIVER: 'memory', SNAPWARDEN_MEMORY_VOLUMES_FILE: 'seed.json' },
      '/srv',
    );
    expect(config.memoryVolumesFile).toBe('/srv/seed.json');
    expect(() => loadConfig({ SNAPWARDEN_MEMORY_VOLUMES_FILE: 'seed.json' })).toThrow(
      'SNAPWARDEN_MEMORY_VOLUMES_FILE: is only used with SNAPWARDEN_DRIVER=memory',
    );
  });

  it('defaults kubernetes mode to in-cluster configuration, every namespace, 20 QPS and burst 40', () => {
    const config = loadConfig({ SNAPWARDEN_MODE: 'kubernetes', REDIS_URL: 'redis://r:6379' });
    expect(config.driver).toBe('csi');
    expect(config.kube).toEqual({
      kubeconfig: undefined,
      namespace: undefined,
      qps: 20,
      burst: 40,
      statusCatchUpAfterMs: 300_000,
    });
  });

  it('takes the status catch-up delay as a duration of at least a second, naming the variable', () => {
    const base = { SNAPWARDEN_MODE: 'kubernetes', REDIS_URL: 'redis://r:6379' };
    expect(
      loadConfig({ ...base, SNAPWARDEN_STATUS_CATCH_UP_AFTER: '90s' }).kube.statusCatchUpAfterMs,
    ).toBe(90_000);
    for (const bad of ['0s', 'soon', '-5m']) {
      expect(() => loadConfig({ ...base, SNAPWARDEN_STATUS_CATCH_UP_AFTER: bad })).toThrow(
        /SNAPWARDEN_STATUS_CATCH_UP_AFTER/,
      );
    }
  });

  it('resolves the kubeconfig path and keeps the watched namespace and rate limit', () => {
    const config = loadConfig(
      {
        SNAPWARDEN_MODE: 'kubernetes',
        REDIS_URL: 'redis://r:6379',
        KUBECONFIG: 'sim.kubeconfig',
        SNAPWARDEN_NAMESPACE: 'shop',
        SNAPWARDEN_KUBE_QPS: '5',
        SNAPWARDEN_KUBE_BURST: '10',
      },
      '/srv',
    );
    expect(config.kube).toEqual({
      kubeconfig: '/srv/sim.kubeconfig',
      namespace: 'shop',
      qps: 5,
      burst: 10,
      statusCatchUpAfterMs: 300_000,
    });
  });

  it('finds Redis through Sentinel: every sentinel, the primary name and both passwords', () => {
    const config = loadConfig({
      SNAPWARDEN_MODE: 'kubernetes',
      REDIS_SENTINELS: 'sentinel-0.redis:26379, 10.0.0.7:26380,[::1]:26381',
      REDIS_SENTINEL_NAME: 'snapwarden',
      REDIS_SENTINEL_PASSWORD: 's3cret/with@odd:chars',
      REDIS_PASSWORD: 'p@ss word',
    });
    const expected = {
      sentinels: [
        { host: 'sentinel-0.redis', port: 26379 },
        { host: '10.0.0.7', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'snapwarden',
      sentinelPassword: 's3cret/with@odd:chars',
      password: 'p@ss word',
    };
    expect(config.redisSentinel).toEqual(expected);
    expect(config.redisUrl).toMatch(/^redis\+sentinel:\/\//);
    expect(parseSentinelUrl(config.redisUrl ?? '')).toEqual(expected);
    expect(parseSentinelUrl('redis://r:6379')).toBeUndefined();
  });
});
