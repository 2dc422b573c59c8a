// `npm start` builds only when the build is missing or older than a source: an unchanged
// checkout starts at once. `--stamp` (the end of `npm run build`) records a finished build.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');
// What tsconfig.build.json compiles and tools/build-dashboard.mjs bundles, and their settings.
const SOURCES = ['apps', 'libs', 'bench', 'dashboard', 'tools', 'test/support', 'test/k8s-sim'];
const FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];

function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

function builtAt() {
  try {
    return statSync(stamp).mtimeMs;
  } catch {
    return 0;
  }
}

if (process.argv.includes('--stamp')) {
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
} else {
  const sources = Math.max(...[...SOURCES, ...FILES].map((p) => newest(join(root, p))));
  if (sources > builtAt()) {
    process.stdout.write('sources changed since the last build: npm run build\n');
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
}
