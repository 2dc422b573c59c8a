import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, getJson, MAIN, startApp, type AppProcess } from '../support/app-process.js';
import { stopLeftoverEmbeddedRedis } from '#lib/runtime';
import { freePort, redisServerArgs } from '../support/redis-server.js';
import { makeVolume } from '../support/volumes.js';

interface Run {
  id: string;
  state: string;
}

const POLICY = `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: every-second
spec:
  schedule: '* * * * * *'
  selector:
    matchLabels:
      suite: lifecycle
  retention:
    keepLast: 3
`;

/** A local-mode data and policy folder with one volume of `bytes` and a policy firing every second. */
async function localSetup(bytes: number): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'snapwarden-lifecycle-'));
  const dataDir = join(dir, 'data');
  await makeVolume(dataDir, 'vol-a', { suite: 'lifecycle' }, bytes);
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'every-second.yaml'), POLICY);
  return {
    dir,
    env: { SNAPWARDEN_DATA_DIR: dataDir, SNAPWARDEN_POLICY_DIR: join(dir, 'policies') },
  };
}

function runsIn(app: AppProcess, state: string): Promise<Run[]> {
  return getJson<{ items: Run[] }>(
    app,
    `/api/v1/runs?policy=default/every-second&state=${state}`,
  ).then((page) => page.items);
}

/** Every line the app printed is one JSON object (no raw stack traces). */
function nonJsonLines(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
}

function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function startRedisOn(port: number, dir: string): ChildProcess {
  return spawn('redis-server', redisServerArgs(port, dir), { stdio: 'ignore' });
}

async function stopRedis(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe('start-up with Redis down, and Ctrl-C during a run', () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('answers /healthz while Redis is down, says "redis unreachable", and runs within seconds of Redis returning', async () => {
    const { dir, env } = await localSetup(4 * 1024);
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const redisPort = await freePort();
    const redis: { child?: ChildProcess } = {};
    cleanups.push(() => stopRedis(redis.child));

    // startApp waits for /healthz: liveness must not wait for Redis.
    const app = await startApp({ ...env, REDIS_URL: `redis://127.0.0.1:${redisPort}` }, 30_000);
    cleanups.push(() => app.kill());
    const response = await fetch(`${app.url}/readyz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { checks: Record<string, string> };
    expect(body.checks.redis).toBe('redis unreachable');

    redis.child = startRedisOn(redisPort, dir);
    const returned = performance.now();
    await eventually(
      async () => ((await runsIn(app, 'succeeded')).length > 0 ? true : undefined),
      30_000,
      'a succeeded run after Redis returned',
    );
    const seconds = (performance.now() - returned) / 1000;
    process.stdout.write(`first succeeded run ${seconds.toFixed(1)} s after Redis returned\n`);

    expect(await app.stop()).toBe(0);
    expect(nonJsonLines(app.output())).toEqual([]);
    expect(app.output()).not.toContain('embedded redis stopped');
  }, 90_000);

  it('SIGINT to the process group during a run exits, stops the embedded redis and frees its port', async () => {
    const { dir, env } = await localSetup(8 * 1024 * 1024);
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const app = await startApp(env, 30_000);
    cleanups.push(() => app.kill());
    const started = /"url":"redis:\/\/127\.0\.0\.1:(\d+)".*embedded redis started/.exec(
      app.output(),
    );
    const redisPort = Number(started?.[1]);
    const redisPid = Number(
      (await readFile(join(env.SNAPWARDEN_DATA_DIR!, 'redis', 'redis.pid'), 'utf8')).trim(),
    );
    expect(redisPort).toBeGreaterThan(0);
    expect(isAlive(redisPid)).toBe(true);

    await eventually(
      async () => ((await runsIn(app, 'running')).length > 0 ? true : undefined),
      30_000,
      'a run in progress',
    );
    const exited = new Promise<number | null>((resolve) => {
      if (app.child.exitCode !== null) resolve(app.child.exitCode);
      else app.child.once('exit', (code) => resolve(code));
    });
    const signalled = performance.now();
    // What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    process.kill(-app.child.pid!, 'SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 45_000))),
    ]);
    clearTimeout(timer);
    const seconds = (performance.now() - signalled) / 1000;
    process.stdout.write(`exit ${seconds.toFixed(1)} s after SIGINT (code ${code})\n`);

    expect(code).toBe(0);
    await eventually(
      () => Promise.resolve(isAlive(redisPid) ? undefined : true),
      10_000,
      'the embedded redis gone',
    );
    expect(await portAcceptsConnections(redisPort)).toBe(false);
    expect(await portAcceptsConnections(app.port)).toBe(false);
    expect(app.output()).toContain('embedded redis stopped');
    expect(nonJsonLines(app.output())).toEqual([]);
  }, 120_000);

  it('SIGINT while it is still starting (embedded redis up, app not listening yet) leaves nothing behind', async () => {
    const { dir, env } = await localSetup(4 * 1024);
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...env, PORT: String(await freePort()) },
      stdio: 'ignore',
      detached: true,
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null)
        process.kill(-child.pid!, 'SIGKILL');
      await exited;
    });
    const pidFile = join(env.SNAPWARDEN_DATA_DIR!, 'redis', 'redis.pid');
    const redisPid = await eventually(
      async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || undefined,
      30_000,
      'the embedded redis started',
    );
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    await eventually(
      () => Promise.resolve(isAlive(redisPid) ? undefined : true),
      15_000,
      'the embedded redis gone',
    );
  }, 60_000);
});

/** Policy files enough that the first pass (read, parse, store, schedule each) takes a while. */
const MANY_POLICIES = 3_000;

function manyPolicy(i: number): string {
  return `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: p${i}
spec:
  schedule: '${i % 60} ${i % 24} * * *'
  claimNames: [vol-${i}]
  retention:
    keepLast: 2
`;
}

/** The scheduler's readiness text while `/readyz` says not ready, or undefined once ready. */
async function firstPassProgress(app: AppProcess): Promise<string | undefined> {
  const response = await fetch(`${app.url}/readyz`);
  const body = (await response.json()) as { checks: Record<string, string> };
  if (response.status === 200) return undefined;
  expect(response.status).toBe(503);
  return body.checks.scheduler;
}

describe('start-up over thousands of policy files', () => {
  let dir: string | undefined;
  let app: AppProcess | undefined;

  afterEach(async () => {
    await app?.kill();
    if (dir) await stopLeftoverEmbeddedRedis(join(dir, 'data'));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers /healthz while the first policy pass runs, and /readyz tells how far it has come', async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-many-'));
    const policies = join(dir, 'policies');
    await mkdir(policies);
    for (let i = 0; i < MANY_POLICIES; i += 500) {
      const chunk = Array.from({ length: Math.min(500, MANY_POLICIES - i) }, (_, j) => i + j);
      await Promise.all(chunk.map((n) => writeFile(join(policies, `p${n}.yaml`), manyPolicy(n))));
    }
    app = await startApp(
      {
        SNAPWARDEN_DATA_DIR: join(dir, 'data'),
        SNAPWARDEN_POLICY_DIR: policies,
        SNAPWARDEN_DRIVER: 'memory',
        LOG_LEVEL: 'warn',
      },
      60_000,
    );

    // Liveness asked between two readiness answers that both say the first pass is under way.
    const seen: string[] = [];
    let livenessDuringPass = 0;
    const deadline = Date.now() + 120_000;
    for (let before = await firstPassProgress(app); before !== undefined;) {
      expect(Date.now()).toBeLessThan(deadline);
      seen.push(before);
      const live = await fetch(`${app.url}/healthz`);
      expect(live.status).toBe(200);
      const after = await firstPassProgress(app);
      if (after !== undefined) livenessDuringPass++;
      before = after;
    }

    expect(livenessDuringPass).toBeGreaterThan(0);
    const counts = seen
      .map((text) =>
        /^policies: ([\d,]+) of ([\d,]+) (read from the policy source|applied)$/.exec(text),
      )
      .filter((match) => match !== null)
      .map((match) => ({ done: Number(match[1]!.replaceAll(',', '')), total: match[2]! }));
    // Progress below the whole, out of every file (read) or every policy (applied).
    expect(counts.some((c) => c.done < MANY_POLICIES)).toBe(true);
    for (const c of counts) expect(c.total).toBe('3,000');
    const listed = await getJson<{ items: unknown[]; problems: unknown[] }>(
      app,
      '/api/v1/policies',
    );
    expect(listed.items).toHaveLength(MANY_POLICIES);
    expect(listed.problems).toEqual([]);
  }, 240_000);
});
