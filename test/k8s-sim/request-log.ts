/** One request as the simulator saw it. */
export interface RequestRecord {
  /** Position in the log; use with {@link RequestLog.mark} / {@link RequestLog.since}. */
  seq: number;
  at: Date;
  method: string;
  path: string;
  query: string;
  /** Kubernetes verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`) or the lowercase HTTP method for discovery/OpenAPI URLs. */
  verb: string;
  /**
   * Plural resource with its subresource as RBAC names it (`volumesnapshots`,
   * `backuppolicies/status`); undefined for non-resource URLs.
   */
  resource?: string;
  /** The subresource alone (`status`, `scale`, `exec`), when the URL names one. */
  subresource?: string;
  group?: string;
  namespace?: string;
  name?: string;
  status: number;
  userAgent?: string;
}

/** Request counts, by verb and by `"<verb> <resource>"` (e.g. `"list volumesnapshots"`). */
export interface RequestCounts {
  byVerb: Record<string, number>;
  byVerbResource: Record<string, number>;
}

/**
 * Every request the simulator answered, in arrival order, so tests can assert API usage
 * ("no LIST per job after the informers synced"). Watches are recorded when their stream starts.
 */
export class RequestLog {
  private entries: RequestRecord[] = [];
  private seq = 0;

  /** Appends a record (called by the HTTP layer). */
  record(entry: Omit<RequestRecord, 'seq'>): void {
    this.seq += 1;
    this.entries.push({ ...entry, seq: this.seq });
  }

  /** All records still held. */
  all(): RequestRecord[] {
    return [...this.entries];
  }

  /** A position to pass to {@link since} or {@link counts} later. */
  mark(): number {
    return this.seq;
  }

  /** Records after a mark. */
  since(mark: number): RequestRecord[] {
    return this.entries.filter((e) => e.seq > mark);
  }

  /** Counts over all records, or over those after a mark; non-resource requests are left out. */
  counts(mark = 0): RequestCounts {
    const byVerb: Record<string, number> = {};
    const byVerbResource: Record<string, number> = {};
    for (const entry of this.since(mark)) {
      if (!entry.resource) continue;
      byVerb[entry.verb] = (byVerb[entry.verb] ?? 0) + 1;
      const key = `${entry.verb} ${entry.resource}`;
      byVerbResource[key] = (byVerbResource[key] ?? 0) + 1;
    }
    return { byVerb, byVerbResource };
  }

  /** How many requests match a verb (and optionally a resource) since a mark. */
  count(verb: string, resource?: string, mark = 0): number {
    return this.since(mark).filter(
      (e) => e.verb === verb && (resource === undefined || e.resource === resource),
    ).length;
  }

  /** Forgets everything recorded so far. */
  reset(): void {
    this.entries = [];
  }
}
