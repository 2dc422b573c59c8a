import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Repository root (for deploy/ paths). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** True when `kubectl` can be run; deploy tests that need it are skipped otherwise. */
export const kubectlFound = !spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' })
  .error;

/** `describe`, or `describe.skip` with a printed reason when kubectl is missing. */
export function describeWithKubectl(suite: string): jest.Describe {
  if (!kubectlFound) console.warn(`${suite}: skipped, kubectl is not on PATH`);
  return kubectlFound ? describe : describe.skip;
}

/** Output of one kubectl call. */
export interface KubectlResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with a timeout; never throws on a non-zero exit (see `ok`). */
export async function kubectl(args: string[], timeoutMs = 30000): Promise<KubectlResult> {
  try {
    const { stdout, stderr } = await run('kubectl', args, {
      cwd: REPO_ROOT,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { ok: true, stdout, stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message?: string };
    return {
      ok: false,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? failed.message ?? '',
    };
  }
}
