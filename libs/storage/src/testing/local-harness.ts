import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalDriver, type LocalDriverOptions } from '../local/local.driver.js';
import type { SnapshotManifest } from '../local/manifest.js';
import type { SnapshotState } from '../snapshot-driver.js';

/** Writes a local volume directory (with `files`) and, when given, its `.volume.yaml`. */
export async function writeLocalVolume(
  dataDir: string,
  input: { namespace?: string; name: string; labels?: Record<string, string> },
  files: Record<string, string | Buffer> = { 'data.txt': 'x'.repeat(1000) },
): Promise<string> {
  const dir = join(dataDir, 'volumes', input.name);
  await mkdir(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) await writeFile(join(dir, path), content);
  if (input.namespace !== undefined || input.labels !== undefined) {
    const labels = Object.entries(input.labels ?? {}).map(([k, v]) => `  ${k}: "${v}"`);
    const yaml = [`namespace: ${input.namespace ?? 'default'}`, 'labels:', ...labels, ''];
    await writeFile(join(dataDir, 'volumes', `${input.name}.volume.yaml`), yaml.join('\n'));
  }
  return dir;
}

/** Writes a manifest as another process (or tool) would have left it. */
export async function writeManifest(
  dataDir: string,
  input: {
    namespace?: string;
    name: string;
    volumeName: string;
    volumeUid?: string;
    state: SnapshotState;
    error?: string;
    /** A build in progress with a fresh lease (`live`), or one whose lease ran out (`dead`). */
    builder?: 'live' | 'dead';
  },
): Promise<SnapshotManifest> {
  const namespace = input.namespace ?? 'default';
  const manifest: SnapshotManifest = {
    version: 1,
    name: input.name,
    namespace,
    uid: `seeded-${input.name}`,
    volumeName: input.volumeName,
    volumeUid: input.volumeUid ?? 'unknown',
    createdAt: new Date('2030-01-01T00:00:00Z').toISOString(),
    state: input.state,
    labels: {},
  };
  if (input.error !== undefined) manifest.error = input.error;
  if (input.builder !== undefined) {
    const heartbeatAt = input.builder === 'live' ? new Date() : new Date(Date.now() - 3_600_000);
    manifest.builder = { token: `seeded-${input.builder}`, heartbeatAt: heartbeatAt.toISOString() };
  }
  if (input.state === 'Ready')
    Object.assign(manifest, { archive: { bytes: 0, sha256: '' }, files: [] });
  await mkdir(join(dataDir, 'snapshots', namespace), { recursive: true });
  await writeFile(
    join(dataDir, 'snapshots', namespace, `${input.name}.json`),
    JSON.stringify(manifest),
  );
  return manifest;
}

/** A process that stays alive until stopped: a "builder" that is still working. */
export function startLiveProcess(): { pid: number; stop: () => void } {
  const child: ChildProcess = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], {
    stdio: 'ignore',
  });
  return { pid: child.pid ?? 0, stop: () => child.kill() };
}

/** The pid of a process that has exited: a builder that crashed. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid ?? 0;
  await new Promise((resolve) => child.on('exit', resolve));
  return pid;
}

/** A local driver with a short poll interval, as tests want it. */
export function testLocalDriver(options: LocalDriverOptions): LocalDriver {
  return new LocalDriver({ pollIntervalMs: 10, ...options });
}
