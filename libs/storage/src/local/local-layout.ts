import { join } from 'node:path';

/**
 * Where the local driver keeps everything, under one data directory:
 *
 * ```
 * <dataDir>/volumes/<name>/                  a volume (name: DNS-1123 label, unique)
 * <dataDir>/volumes/<name>.volume.yaml       its namespace and labels (optional, user-owned)
 * <dataDir>/volumes/.<...>                   the driver's temporary directories (hidden)
 * <dataDir>/volume-ids/<name>.json           the volume's uid and directory fingerprints
 * <dataDir>/snapshots/<namespace>/<name>.json    manifest: the snapshot exists iff it exists
 * <dataDir>/snapshots/<namespace>/<name>.tar.gz  the archive the manifest describes
 * ```
 */
export class LocalLayout {
  readonly volumesDir: string;
  readonly snapshotsRoot: string;
  readonly identitiesDir: string;

  constructor(readonly dataDir: string) {
    this.volumesDir = join(dataDir, 'volumes');
    this.snapshotsRoot = join(dataDir, 'snapshots');
    this.identitiesDir = join(dataDir, 'volume-ids');
  }

  volumeDir(name: string): string {
    return join(this.volumesDir, name);
  }

  volumeMetaFile(name: string): string {
    return join(this.volumesDir, `${name}${VOLUME_META_SUFFIX}`);
  }

  identityFile(name: string): string {
    return join(this.identitiesDir, `${name}.json`);
  }

  snapshotsDir(namespace: string): string {
    return join(this.snapshotsRoot, namespace);
  }

  manifestFile(namespace: string, name: string): string {
    return join(this.snapshotsDir(namespace), `${name}${MANIFEST_SUFFIX}`);
  }

  archiveFile(namespace: string, name: string): string {
    return join(this.snapshotsDir(namespace), `${name}${ARCHIVE_SUFFIX}`);
  }
}

export const VOLUME_META_SUFFIX = '.volume.yaml';
export const MANIFEST_SUFFIX = '.json';
export const ARCHIVE_SUFFIX = '.tar.gz';
