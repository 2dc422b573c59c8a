import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMemorySeed } from './memory-seed.js';

describe('readMemorySeed', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'memory-seed-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('gives every process reading the file the same uids, and keeps a uid that is given', async () => {
    const file = join(dir, 'seed.json');
    await writeFile(
      file,
      JSON.stringify([
        { namespace: 'shop', name: 'db', labels: { app: 'db' } },
        { name: 'cache', uid: 'fixed-uid' },
      ]),
    );
    const first = readMemorySeed(file);
    expect(readMemorySeed(file)).toEqual(first);
    expect(first[0]).toMatchObject({ namespace: 'shop', name: 'db', labels: { app: 'db' } });
    expect(first[0]?.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(first[1]).toMatchObject({ namespace: 'default', name: 'cache', uid: 'fixed-uid' });
  });

  it('names the file and the offending entry when the seed is invalid', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify([{ namespace: 'shop' }]));
    expect(() => readMemorySeed(file)).toThrow(`SNAPWARDEN_MEMORY_VOLUMES_FILE ${file}: 0.name`);
    await writeFile(file, '{');
    expect(() => readMemorySeed(file)).toThrow(`SNAPWARDEN_MEMORY_VOLUMES_FILE ${file}:`);
  });
});
