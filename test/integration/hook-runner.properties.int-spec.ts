import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { pino } from 'pino';
import type { Redis } from 'ioredis';
import { AuditLog } from '#lib/audit';
import {
  HookRunner,
  PendingHooks,
  type HookExecution,
  type HookExecutor,
  type HookInvocation,
  type HookTargets,
} from '#lib/engine';
import type { Hook } from '#lib/policy';
import { createRedis } from '#lib/runtime';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

const VOLUME = { namespace: 'default', name: 'db-0' };

/**
 * Pods as the executor port sees them: each call is recorded; a scripted one fails; the call
 * numbered `killAt` never returns (the worker dies there: nothing after it runs in this runner).
 */
class ScriptedExecutor implements HookExecutor {
  readonly calls: string[] = [];

  constructor(
    private readonly failing: ReadonlySet<string>,
    private readonly killAt = Number.POSITIVE_INFINITY,
  ) {}

  targets(): Promise<HookTargets> {
    return Promise.resolve({ targets: ['pod-0'] });
  }

  run(invocation: HookInvocation, target: string): Promise<HookExecution> {
    const label = `${invocation.phase}:${invocation.hook.name}`;
    if (this.calls.length === this.killAt) return new Promise(() => undefined);
    this.calls.push(label);
    const ok = !this.failing.has(invocation.hook.name);
    return Promise.resolve({ target, ok, exitCode: ok ? 0 : 1, output: '', durationMs: 0 });
  }
}

const hookArb = (prefix: string) =>
  fc.record({
    name: fc.integer({ min: 0, max: 99 }).map((n) => `${prefix}${n}`),
    fails: fc.boolean(),
    onError: fc.constantFrom<'Fail' | 'Continue'>('Fail', 'Continue'),
  });

const listArb = (prefix: string) =>
  fc.uniqueArray(hookArb(prefix), { maxLength: 4, selector: (h) => h.name });

function toHooks(list: { name: string; onError: 'Fail' | 'Continue' }[]): Hook[] {
  return list.map((h) => ({
    name: h.name,
    command: ['x'],
    timeoutSeconds: 30,
    onError: h.onError,
  }));
}

describe('HookRunner properties (real redis, scripted executor)', () => {
  let server: TestRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startTestRedis();
    redis = createRedis(server.url, pino({ level: 'silent' }), { name: 'props' });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  function runner(executor: HookExecutor, prefix: string): HookRunner {
    return new HookRunner(
      executor,
      new PendingHooks(redis, prefix),
      new AuditLog(redis, { prefix: `${prefix}:` }),
      'test/1',
    );
  }

  const scope = { volume: VOLUME, snapshotName: 'snap', trigger: 'test', jobId: 'job-1' };

  it('the snapshot runs iff no Fail pre hook failed; every post hook runs once, after the pre hooks', async () => {
    await fc.assert(
      fc.asyncProperty(listArb('pre'), listArb('post'), async (pre, post) => {
        const prefix = `p${randomUUID().slice(0, 8)}`;
        const failing = new Set([...pre, ...post].filter((h) => h.fails).map((h) => h.name));
        const executor = new ScriptedExecutor(failing);
        let created = false;
        const result = await runner(executor, prefix).around(
          scope,
          { pre: toHooks(pre), post: toHooks(post) },
          true,
          () => {
            created = true;
            return Promise.resolve('snapshot');
          },
        );
        const stop = pre.findIndex((h) => h.fails && h.onError === 'Fail');
        const ranPre = stop === -1 ? pre : pre.slice(0, stop + 1);
        expect(executor.calls).toEqual([
          ...ranPre.map((h) => `pre:${h.name}`),
          ...post.map((h) => `post:${h.name}`),
        ]);
        expect(created).toBe(stop === -1);
        const postFail = post.some((h) => h.fails && h.onError === 'Fail');
        expect(result.error !== undefined).toBe(stop !== -1 || postFail);
        expect(await new PendingHooks(redis, prefix).get(VOLUME)).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });

  it('a worker killed at any point between the first pre hook and the last post hook: the next lease holder runs all the post hooks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(hookArb('pre'), { minLength: 1, maxLength: 3, selector: (h) => h.name }),
        fc.uniqueArray(hookArb('post'), { minLength: 1, maxLength: 3, selector: (h) => h.name }),
        fc.nat(),
        async (pre, post, seed) => {
          const prefix = `k${randomUUID().slice(0, 8)}`;
          const failing = new Set([...pre, ...post].filter((h) => h.fails).map((h) => h.name));
          const total = (() => {
            const stop = pre.findIndex((h) => h.fails && h.onError === 'Fail');
            return (stop === -1 ? pre.length : stop + 1) + post.length;
          })();
          const killAt = seed % total;
          const dying = new ScriptedExecutor(failing, killAt);
          const hooks = { pre: toHooks(pre), post: toHooks(post) };
          void runner(dying, prefix).around(scope, hooks, true, () => Promise.resolve('snapshot'));
          // Wait for the dying worker to reach its kill point (it never passes it).
          while (
            dying.calls.length < killAt ||
            !(await new PendingHooks(redis, prefix).get(VOLUME))
          ) {
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          const next = new ScriptedExecutor(new Set());
          await runner(next, prefix).recover(VOLUME, 'job-2');
          expect(next.calls).toEqual(post.map((h) => `post:${h.name}`));
          expect(await new PendingHooks(redis, prefix).get(VOLUME)).toBeUndefined();
        },
      ),
      { numRuns: 40 },
    );
  });
});
