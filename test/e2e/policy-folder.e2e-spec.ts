import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, getJson, MAIN, startApp, type AppProcess } from '../support/app-process.js';
import { makeVolume } from '../support/volumes.js';

interface Problem {
  source: string;
  key?: string;
  errors: { field: string; message: string }[];
}
interface Policies {
  items: { key: string; source: string; spec: { schedule: string } }[];
  problems: Problem[];
}
interface Run {
  id: string;
  policy?: string;
  state: string;
  scheduledAt: string;
}
interface Event {
  type: string;
  trigger: string;
  error?: string;
}

/** The account the app runs as when the test runs as root: mode 000 must really deny it. */
const NOBODY = { uid: 65534, gid: 65534 };

/**
 * Whether the unprivileged user can run this node binary on the built app: not when either
 * lives under a directory only root may enter (a checkout or a Node under /root).
 */
function nobodyCanRunApp(): boolean {
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `require('node:fs').accessSync(${JSON.stringify(MAIN)}, require('node:fs').constants.R_OK)`,
    ],
    { ...NOBODY, stdio: 'ignore' },
  );
  return probe.status === 0;
}

function policy(name: string, schedule: string, extra = ''): string {
  return `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: ${name}
spec:
  schedule: '${schedule}'
  claimNames: [canary-vol]
  retention:
    keepLast: 2
${extra}`;
}

/** "Billion laughs": nine levels of nine aliases each, 9^9 strings once expanded. */
function yamlBomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  const names = 'abcdefghi';
  for (let i = 1; i < names.length; i++) {
    const prev = names[i - 1] ?? 'a';
    lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return `${lines.join('\n')}\n`;
}

describe('policy folder under hostile files (local mode)', () => {
  let dir: string;
  let policies: string;
  let app: AppProcess;
  const root = process.getuid?.() === 0;
  // As root, the app runs as nobody, so that a file of mode 000 is really unreadable to it.
  const asRoot = root && nobodyCanRunApp();
  if (root && !asRoot) {
    process.stdout.write(
      'policy-folder: nobody cannot reach the node binary or the checkout; the app runs as ' +
        'root and the mode-000 case is checked through the reader of policy-files.int-spec.ts\n',
    );
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-policy-folder-'));
    policies = join(dir, 'policies');
    await mkdir(policies);
    await makeVolume(join(dir, 'data'), 'canary-vol', { suite: 'policy-folder' }, 1024);
    await writeFile(join(policies, 'canary.yaml'), policy('canary', '*/2 * * * * *'));
    await writeFile(join(policies, 'keeper.yaml'), policy('keeper', '0 3 * * *'));
    await writeFile(join(policies, 'locked.yaml'), policy('locked', '0 4 * * *'));
    await writeFile(join(policies, 'm-dup.yaml'), policy('dup', '0 5 * * *'));
    await writeFile(join(policies, 'emptied.yaml'), policy('emptied', '0 8 * * *'));
    // Present at start, beside the valid policies:
    await writeFile(join(policies, 'bomb.yaml'), yamlBomb());
    await writeFile(join(policies, 'huge.yaml'), `# ${'x'.repeat(50 * 1024 * 1024)}\n`);
    const longValue = 'v'.repeat(900 * 1024);
    await writeFile(
      join(policies, 'long-value.yaml'),
      policy('long-value', '@daily', `  snapshotLabels: {app: ${longValue}}\n`),
    );
    await writeFile(
      join(policies, 'proto.yaml'),
      policy('proto', '@daily').replace(
        'claimNames: [canary-vol]',
        'selector: {matchLabels: {__proto__: x}}',
      ),
    );
    if (asRoot) execFileSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, dir]);
    app = await startApp(
      {
        SNAPWARDEN_DATA_DIR: join(dir, 'data'),
        SNAPWARDEN_POLICY_DIR: policies,
        SNAPWARDEN_RESYNC_INTERVAL: '1s',
        SNAPWARDEN_MAX_SNAPSHOTS_PER_VOLUME: '50',
        LOG_LEVEL: 'info',
      },
      30_000,
      asRoot ? NOBODY : undefined,
    );
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const list = () => getJson<Policies>(app, '/api/v1/policies');

  /** Waits until `file` is a listed problem whose first error matches, and its audit event. */
  async function reported(file: string, field: string, message: RegExp): Promise<Problem> {
    const problem = await eventually(
      async () => {
        const found = (await list()).problems.find((p) => p.source.endsWith(`/${file}`));
        const error = found?.errors.find((e) => e.field === field && message.test(e.message));
        return error ? found : undefined;
      },
      20_000,
      `problem ${field} ${message} on ${file}`,
    );
    await eventually(
      async () => {
        const events = await getJson<{ items: Event[] }>(
          app,
          '/api/v1/events?kind=policy.invalid&limit=500',
        );
        return events.items.find((e) => e.trigger.endsWith(`/${file}`) && e.error?.includes(field));
      },
      20_000,
      `policy.invalid event for ${file}`,
    );
    return problem;
  }

  /** The canary policy keeps producing successful runs: one scheduled after `after`. */
  async function canaryRunsAfter(after: Date): Promise<void> {
    expect(app.child.exitCode).toBeNull();
    await eventually(
      async () => {
        const runs = await getJson<{ items: Run[] }>(app, '/api/v1/runs?policy=default/canary');
        return runs.items.find(
          (r) => r.state === 'succeeded' && Date.parse(r.scheduledAt) > after.getTime(),
        );
      },
      20_000,
      `a canary run after ${after.toISOString()}`,
    );
  }

  async function step(change: () => Promise<void>, file: string, field: string, message: RegExp) {
    const at = new Date();
    await change();
    const problem = await reported(file, field, message);
    await canaryRunsAfter(at);
    return problem;
  }

  it('starts with a YAML bomb, a 50 MB file, a 900 KB value and a __proto__ selector beside valid policies', async () => {
    await reported('bomb.yaml', '(yaml)', /alias/i);
    await reported('huge.yaml', '(file)', /52428803 bytes, more than the 1048576/);
    const long = await reported(
      'long-value.yaml',
      'spec.snapshotLabels.app',
      /invalid label value/,
    );
    expect(long.errors[0]?.message.length).toBeLessThan(200);
    await reported('proto.yaml', 'spec.selector.matchLabels.__proto__', /not allowed/);
    const keys = (await list()).items.map((p) => p.key).sort();
    expect(keys).toEqual([
      'default/canary',
      'default/dup',
      'default/emptied',
      'default/keeper',
      'default/locked',
    ]);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    await canaryRunsAfter(new Date());
  });

  it('survives a new symlink loop', async () => {
    await step(
      () => symlink('loop.yaml', join(policies, 'loop.yaml')),
      'loop.yaml',
      '(file)',
      /symlink loop/,
    );
  });

  it('keeps a policy whose file turns into a symlink loop', async () => {
    await step(
      async () => {
        await symlink('keeper.yaml', join(policies, 'keeper-2.yml'));
        await rename(join(policies, 'keeper.yaml'), join(policies, 'keeper-old'));
        await symlink('keeper-2.yml', join(policies, 'keeper.yaml'));
      },
      'keeper.yaml',
      '(file)',
      /symlink loop/,
    );
    expect((await list()).items.map((p) => p.key)).toContain('default/keeper');
  });

  it('reports a dangling symlink, a directory and a FIFO named *.yaml', async () => {
    await step(
      () => symlink('nowhere.yaml', join(policies, 'dangling.yaml')),
      'dangling.yaml',
      '(file)',
      /dangling symlink to nowhere.yaml/,
    );
    await step(
      () => mkdir(join(policies, 'folder.yaml')),
      'folder.yaml',
      '(file)',
      /not a regular file \(directory\)/,
    );
    await step(
      () => Promise.resolve(void execFileSync('mkfifo', [join(policies, 'pipe.yaml')])),
      'pipe.yaml',
      '(file)',
      /not a regular file \(FIFO\)/,
    );
  });

  it('keeps a policy whose file is emptied', async () => {
    await step(
      () => writeFile(join(policies, 'emptied.yaml'), ''),
      'emptied.yaml',
      '(file)',
      /holds no policy/,
    );
    expect((await list()).items.map((p) => p.key)).toContain('default/emptied');
  });

  it('keeps a policy whose file becomes unreadable (mode 000, the app not root)', async () => {
    // Root reads a file of mode 000: only an app that is not root can see EACCES.
    if (root && !asRoot) return;
    await step(
      () => chmod(join(policies, 'locked.yaml'), 0o000),
      'locked.yaml',
      '(file)',
      /EACCES/,
    );
    expect((await list()).items.map((p) => p.key)).toContain('default/locked');
  });

  it('reports a duplicate on both files and keeps the running version, whichever sorts first', async () => {
    const write = async (file: string, schedule: string) => {
      await writeFile(join(policies, file), policy('dup', schedule));
      if (asRoot) await chown(join(policies, file), NOBODY.uid, NOBODY.gid);
    };
    await step(() => write('a-dup.yaml', '0 6 * * *'), 'a-dup.yaml', 'metadata.name', /m-dup/);
    await step(() => write('z-dup.yaml', '0 7 * * *'), 'z-dup.yaml', 'metadata.name', /m-dup/);
    await reported('m-dup.yaml', 'metadata.name', /a-dup.yaml, .*z-dup.yaml/);
    const dup = (await list()).items.find((p) => p.key === 'default/dup');
    expect(dup?.spec.schedule).toBe('0 5 * * *');
  });

  it('stayed alive, logged each problem once and kept its log small', async () => {
    await canaryRunsAfter(new Date());
    const out = app.output();
    for (const file of ['bomb.yaml', 'huge.yaml', 'long-value.yaml', 'loop.yaml', 'pipe.yaml']) {
      const lines = out
        .split('\n')
        .filter((l) => l.includes(`invalid policy file:`) && l.includes(`/${file}:`));
      expect({ file, lines: lines.length }).toEqual({ file, lines: 1 });
    }
    // The symlink loop reached the watcher as an error event, which used to kill the process.
    expect(out).toContain('policy folder watch error');
    expect(out.length).toBeLessThan(2 * 1024 * 1024);
    const problems = JSON.stringify((await list()).problems);
    expect(problems.length).toBeLessThan(64 * 1024);
    process.stdout.write(
      `policy-folder battery: app log ${out.length} bytes, problems ${problems.length} bytes\n`,
    );
  });
});
