import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import type { VolumeRef } from '../snapshot-driver.js';
import { isDnsLabel, isSnapshotRef } from '../shared/names.js';
import { createFileExclusive, parseJson, unlessMissing, writeFileAtomic } from './fs-util.js';
import { MANIFEST_SUFFIX, type LocalLayout } from './local-layout.js';
import { asManifest, type SnapshotManifest } from './manifest.js';

/** Reads and writes snapshot manifests; every write is atomic (temporary file + rename). */
export class ManifestStore {
  constructor(private readonly layout: LocalLayout) {}

  /** The manifest, or undefined when there is none (or the name could never be one). */
  async read(namespace: string, name: string): Promise<SnapshotManifest | undefined> {
    if (!isSnapshotRef({ namespace, name })) return undefined;
    const file = this.layout.manifestFile(namespace, name);
    const text = await unlessMissing(() => readFile(file, 'utf8'));
    return text === undefined ? undefined : asManifest(parseJson(text, file), file);
  }

  async write(manifest: SnapshotManifest): Promise<void> {
    await mkdir(this.layout.snapshotsDir(manifest.namespace), { recursive: true });
    await writeFileAtomic(this.fileOf(manifest), serialise(manifest));
  }

  /** Writes the manifest only if none of that name exists; false when one did. */
  async create(manifest: SnapshotManifest): Promise<boolean> {
    await mkdir(this.layout.snapshotsDir(manifest.namespace), { recursive: true });
    return createFileExclusive(this.fileOf(manifest), serialise(manifest));
  }

  async remove(namespace: string, name: string): Promise<void> {
    if (!isSnapshotRef({ namespace, name })) return;
    await rm(this.layout.manifestFile(namespace, name), { force: true });
  }

  /** Every manifest of one namespace, or of all namespaces. */
  async list(namespace?: string): Promise<SnapshotManifest[]> {
    if (namespace !== undefined && !isDnsLabel(namespace)) return [];
    const namespaces = namespace === undefined ? await this.namespaces() : [namespace];
    const lists = await Promise.all(namespaces.map((ns) => this.listNamespace(ns)));
    return lists.flat();
  }

  /** Every manifest whose source is `volume`, in any state. */
  async listForVolume(volume: VolumeRef): Promise<SnapshotManifest[]> {
    const all = await this.list(volume.namespace);
    return all.filter((m) => m.volumeName === volume.name);
  }

  private async namespaces(): Promise<string[]> {
    const entries = await unlessMissing(() =>
      readdir(this.layout.snapshotsRoot, { withFileTypes: true }),
    );
    return (entries ?? [])
      .filter((e) => e.isDirectory() && isDnsLabel(e.name))
      .map((e) => e.name)
      .sort();
  }

  private async listNamespace(namespace: string): Promise<SnapshotManifest[]> {
    const names = await unlessMissing(() => readdir(this.layout.snapshotsDir(namespace)));
    const snapshotNames = (names ?? [])
      .filter((n) => n.endsWith(MANIFEST_SUFFIX) && !n.startsWith('.'))
      .map((n) => n.slice(0, -MANIFEST_SUFFIX.length))
      .sort();
    // A manifest deleted between readdir and read is simply no longer there.
    const manifests = await Promise.all(snapshotNames.map((n) => this.read(namespace, n)));
    return manifests.filter((m): m is SnapshotManifest => m !== undefined);
  }

  private fileOf(manifest: SnapshotManifest): string {
    return this.layout.manifestFile(manifest.namespace, manifest.name);
  }
}

function serialise(manifest: SnapshotManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
