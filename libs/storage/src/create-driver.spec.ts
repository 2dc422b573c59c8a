import { createDriver, LocalDriver, MemoryDriver } from '#lib/storage';
import { makeTempDir } from './testing/temp-dir.js';

describe('createDriver', () => {
  it('builds the local driver over a data directory, with the configured cap', async () => {
    const tmp = await makeTempDir();
    try {
      const driver = createDriver({ kind: 'local', dataDir: tmp.path, maxSnapshotsPerVolume: 5 });
      expect(driver).toBeInstanceOf(LocalDriver);
      expect(driver.name).toBe('local');
      const caps = await driver.capabilities({ namespace: 'default', name: 'x' });
      expect(caps.maxSnapshotsPerVolume).toBe(5);
      await driver.close();
    } finally {
      await tmp.cleanup();
    }
  });

  it('builds the memory driver with its options, defaulting the cap to 7', async () => {
    const driver = createDriver({ kind: 'memory' });
    expect(driver).toBeInstanceOf(MemoryDriver);
    expect(
      (await driver.capabilities({ namespace: 'default', name: 'x' })).maxSnapshotsPerVolume,
    ).toBe(7);
    const capped = createDriver({ kind: 'memory', options: { maxSnapshotsPerVolume: 2 } });
    expect(
      (await capped.capabilities({ namespace: 'default', name: 'x' })).maxSnapshotsPerVolume,
    ).toBe(2);
  });

  it('refuses a kind it does not know', () => {
    const config = { kind: 'nfs' } as unknown as Parameters<typeof createDriver>[0];
    expect(() => createDriver(config)).toThrow(/unknown storage driver kind "nfs"/);
  });
});
