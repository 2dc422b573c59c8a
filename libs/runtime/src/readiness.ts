/** A named readiness check: resolves to `undefined` when ready, or the reason it is not. */
export type ReadinessCheck = () => Promise<string | undefined> | string | undefined;

/**
 * Readiness of this process, answered by `/readyz`: each role registers what it needs
 * (Redis reachable, workers running, policies synced, informers fresh).
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  async evaluate(): Promise<{ ready: boolean; checks: Record<string, string> }> {
    const results: Record<string, string> = {};
    let ready = true;
    for (const [name, check] of this.checks) {
      let problem: string | undefined;
      try {
        problem = await check();
      } catch (error) {
        problem = (error as Error).message;
      }
      results[name] = problem ?? 'ok';
      ready &&= problem === undefined;
    }
    return { ready, checks: results };
  }
}
