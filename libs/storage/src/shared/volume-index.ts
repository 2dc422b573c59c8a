import { matchesSelector, type LabelSelector } from '#lib/policy';
import type { Volume, VolumeQuery, VolumeRef } from '../snapshot-driver.js';

/** Names of the volumes of one namespace holding a label key, in all and per value. */
interface KeyPostings {
  all: Set<string>;
  byValue: Map<string, Set<string>>;
}

/** The volumes of one namespace and their label postings. */
interface NamespaceBucket {
  byName: Map<string, Volume>;
  byKey: Map<string, KeyPostings>;
}

const NOTHING: ReadonlySet<string> = new Set();

/**
 * Volumes by namespace and name, with a posting set per label key and per `key=value`, so that
 * a selector is answered from the smallest set of candidates it allows instead of a scan of
 * the namespace: a tick then costs in proportion to the volumes it selects. The drivers keep it
 * up to date from their own events (memory: every add, relabel, removal; csi: the claim
 * informer; local: the volumes directory watch). `find` checks every candidate with
 * `matchesSelector`, so its answer is by construction the one a scan would give.
 */
export class VolumeIndex {
  private readonly namespaces = new Map<string, NamespaceBucket>();
  private count = 0;

  /** How many volumes the index holds. */
  get size(): number {
    return this.count;
  }

  get(ref: VolumeRef): Volume | undefined {
    return this.namespaces.get(ref.namespace)?.byName.get(ref.name);
  }

  /** Every volume of one namespace, or of all, sorted by namespace and name. */
  list(namespace?: string): Volume[] {
    const buckets =
      namespace === undefined
        ? [...this.namespaces.entries()].sort(([a], [b]) => compareNames(a, b))
        : [[namespace, this.namespaces.get(namespace)] as const];
    return buckets.flatMap(([, bucket]) => (bucket ? sortByName([...bucket.byName.values()]) : []));
  }

  /** Adds the volume, or replaces the one of the same namespace and name (new labels). */
  upsert(volume: Volume): void {
    this.remove(volume);
    const bucket = this.bucket(volume.namespace);
    bucket.byName.set(volume.name, volume);
    for (const [key, value] of Object.entries(volume.labels)) {
      const postings = getOrAdd(bucket.byKey, key, emptyPostings);
      postings.all.add(volume.name);
      getOrAdd(postings.byValue, value, () => new Set<string>()).add(volume.name);
    }
    this.count += 1;
  }

  /** Removes the volume; false when the index did not hold it. */
  remove(ref: VolumeRef): boolean {
    const bucket = this.namespaces.get(ref.namespace);
    const volume = bucket?.byName.get(ref.name);
    if (!bucket || !volume) return false;
    bucket.byName.delete(ref.name);
    for (const [key, value] of Object.entries(volume.labels)) unpost(bucket, key, value, ref.name);
    if (bucket.byName.size === 0) this.namespaces.delete(ref.namespace);
    this.count -= 1;
    return true;
  }

  /** Empties the index (before a full rescan). */
  clear(): void {
    this.namespaces.clear();
    this.count = 0;
  }

  /**
   * The volumes of `query.namespace` that match `query.selector` (none without a selector; every
   * one for an empty selector, as in Kubernetes) plus those named in `query.names` that exist,
   * each once, sorted by name. Whatever their phase: the caller decides what to do with a
   * volume that is not Bound, or a name that is missing.
   */
  find(query: VolumeQuery): Volume[] {
    const bucket = this.namespaces.get(query.namespace);
    if (!bucket) return [];
    const found = new Map<string, Volume>();
    const { selector } = query;
    if (selector) {
      for (const name of candidates(bucket, selector)) {
        const volume = bucket.byName.get(name);
        if (volume && matchesSelector(volume.labels, selector)) found.set(name, volume);
      }
    }
    for (const name of query.names ?? []) {
      const volume = bucket.byName.get(name);
      if (volume) found.set(name, volume);
    }
    return sortByName([...found.values()]);
  }

  private bucket(namespace: string): NamespaceBucket {
    return getOrAdd(this.namespaces, namespace, () => ({ byName: new Map(), byKey: new Map() }));
  }
}

/**
 * The smallest set of names the selector allows: among the posting sets its `matchLabels`,
 * `In` and `Exists` requirements name (each a superset of the matches), the smallest; the
 * whole namespace when it has only `NotIn` and `DoesNotExist` requirements.
 */
function candidates(bucket: NamespaceBucket, selector: LabelSelector): Iterable<string> {
  let best: Iterable<string> = bucket.byName.keys();
  let bestSize = bucket.byName.size;
  const consider = (size: number, names: () => Iterable<string>) => {
    if (size < bestSize) [best, bestSize] = [names(), size];
  };
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const names = bucket.byKey.get(key)?.byValue.get(value) ?? NOTHING;
    consider(names.size, () => names);
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const postings = bucket.byKey.get(requirement.key);
    if (requirement.operator === 'Exists') {
      const names = postings?.all ?? NOTHING;
      consider(names.size, () => names);
    } else if (requirement.operator === 'In') {
      const sets = [...new Set(requirement.values ?? [])].map(
        (value) => postings?.byValue.get(value) ?? NOTHING,
      );
      const size = sets.reduce((sum, set) => sum + set.size, 0);
      consider(size, () => sets.flatMap((set) => [...set]));
    }
  }
  return best;
}

function emptyPostings(): KeyPostings {
  return { all: new Set(), byValue: new Map() };
}

function unpost(bucket: NamespaceBucket, key: string, value: string, name: string): void {
  const postings = bucket.byKey.get(key);
  if (!postings) return;
  postings.all.delete(name);
  const names = postings.byValue.get(value);
  names?.delete(name);
  if (names?.size === 0) postings.byValue.delete(value);
  if (postings.all.size === 0) bucket.byKey.delete(key);
}

function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

/** The order selections are reported in (the one `selectVolumes` has always used). */
export function compareNames(a: string, b: string): number {
  return a.localeCompare(b);
}

function sortByName<V extends { name: string }>(volumes: V[]): V[] {
  return volumes.sort((a, b) => compareNames(a.name, b.name));
}
