import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { MemoryVolumeInput } from '#lib/storage';

const SeedVolume = z.object({
  namespace: z.string().min(1).default('default'),
  name: z.string().min(1),
  uid: z.string().min(1).optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

const SeedFile = z.array(SeedVolume);

/**
 * The volumes a memory driver starts with, from `SNAPWARDEN_MEMORY_VOLUMES_FILE`: a JSON array
 * of `{namespace?, name, uid?, labels?}`. A volume without a uid gets one derived from its
 * namespace and name, so that every process reading the file (scheduler and workers each hold
 * their own memory driver) agrees on the uids that job ids and concurrency keys are built on.
 * Read once at start; a bad file stops start-up with a message naming it.
 */
export function readMemorySeed(path: string): MemoryVolumeInput[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`SNAPWARDEN_MEMORY_VOLUMES_FILE ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const result = SeedFile.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(
      `SNAPWARDEN_MEMORY_VOLUMES_FILE ${path}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`,
    );
  }
  return result.data.map((volume) => ({
    ...volume,
    uid: volume.uid ?? seedUid(volume.namespace, volume.name),
  }));
}

/** A stable UUID-shaped uid for `namespace/name`. */
function seedUid(namespace: string, name: string): string {
  const hex = createHash('sha256').update(`${namespace}/${name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
