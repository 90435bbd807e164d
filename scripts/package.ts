/**
 * Builds the deployable zip for `az functionapp deployment source config-zip`:
 * the compiled functions and library, host.json, package.json (whose `main`
 * the Node worker follows) and production node_modules. No tests, no local
 * stack, no scripts, no TypeScript sources.
 *
 *   tsx scripts/package.ts [--root <project>] [--out <zip>]
 *
 * Defaults: the repository, and mail-drain.zip in it. The build goes to a
 * temporary directory, so nothing stale from an earlier dist/ is packaged.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import AdmZip from 'adm-zip';

/** What the Functions host loads: compiled code only (relative to the build output). */
const CODE_DIRS = ['functions', 'shared'];
/** Copied from the project root as they are. */
const ROOT_FILES = ['host.json', 'package.json', 'package-lock.json'];
/** Compiled tests would be test code, wherever they sit. */
const TEST_FILE = /\.test\.js(\.map)?$/;
/** Type declarations (emitted for mail-drain/consumer) are for consumers' compilers, not for the host. */
const DECLARATION = /\.d\.ts(\.map)?$/;

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    out: { type: 'string' },
  },
});
const root = resolve(values.root ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const out = resolve(values.out ?? join(root, 'mail-drain.zip'));

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd} (exit ${result.status ?? result.signal})`);
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

for (const file of ROOT_FILES) {
  if (!existsSync(join(root, file))) throw new Error(`${file} is missing in ${root}`);
}

const work = mkdtempSync(join(tmpdir(), 'mail-drain-package-'));
try {
  const build = join(work, 'build');
  const stage = join(work, 'stage');

  // 1. Compile, with the project's own build script, into a fresh directory.
  run('npm', ['run', 'build', '--', '--outDir', build], root);

  // 2. Stage what the host loads, under dist/ as package.json's `main` expects.
  for (const dir of CODE_DIRS) {
    const compiled = join(build, dir);
    if (!existsSync(compiled)) throw new Error(`The build produced no ${dir}/ (looked in ${compiled})`);
    cpSync(compiled, join(stage, 'dist', dir), { recursive: true, filter: (source) => !TEST_FILE.test(source) && !DECLARATION.test(source) });
  }
  for (const file of ROOT_FILES) cpSync(join(root, file), join(stage, file));

  // 3. Production dependencies exactly as locked; no install scripts run.
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], stage);
  // Command shims are symbolic links the function never uses.
  rmSync(join(stage, 'node_modules', '.bin'), { recursive: true, force: true });

  // 4. Zip the stage's contents at the archive root.
  const zip = new AdmZip();
  for (const file of filesUnder(stage)) {
    const path = relative(stage, file).split('\\').join('/');
    zip.addLocalFile(file, dirname(path) === '.' ? '' : dirname(path));
  }
  rmSync(out, { force: true });
  zip.writeZip(out);
  const entries = zip.getEntries().length;
  console.log(`Wrote ${relative(process.cwd(), out) || out}: ${entries} files, ${(statSync(out).size / 1024 / 1024).toFixed(1)} MiB`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
