/**
 * `npm run package` (scripts/package.ts) makes a zip the Functions host can run:
 * host.json, a package.json whose `main` finds the compiled functions, every
 * import of the compiled code resolvable inside the zip, production
 * node_modules only, and no test code. It runs the real script, twice: on this
 * repository, and on a small project that has tests, local tools and scripts
 * next to its functions, all of which must stay out.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, describe, test } from 'node:test';
import AdmZip from 'adm-zip';
import ts from 'typescript';
import { repoRoot } from './support/infra.js';

const work = mkdtempSync(join(tmpdir(), 'mail-drain-package-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

function runPackage(root: string, out: string) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/package.ts'), '--root', root, '--out', out], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `scripts/package.ts failed:\n${result.stdout}\n${result.stderr}`);
}

interface Lock {
  packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
}

/** Everything wrong with the zip, as sentences. */
function zipProblems(zipPath: string, lockPath: string): string[] {
  const zip = new AdmZip(zipPath);
  const entries = new Set(zip.getEntries().filter((e) => !e.isDirectory).map((e) => e.entryName));
  const read = (name: string) => zip.readAsText(name);
  const problems: string[] = [];

  if (!entries.has('host.json')) problems.push('host.json is not at the root of the zip');
  else if ((JSON.parse(read('host.json')) as { version?: string }).version !== '2.0') problems.push('host.json is not version 2.0');

  if (!entries.has('package.json')) return [...problems, 'package.json is not at the root of the zip'];
  const pkg = JSON.parse(read('package.json')) as { main?: string; type?: string; dependencies?: Record<string, string> };
  if (pkg.type !== 'module') problems.push('package.json does not say "type": "module"');
  const main = new RegExp(`^${(pkg.main ?? '').replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  const functions = [...entries].filter((e) => main.test(e));
  if (functions.length === 0) problems.push(`package.json main "${pkg.main}" matches no file in the zip`);

  for (const name of Object.keys(pkg.dependencies ?? {})) {
    if (!entries.has(`node_modules/${name}/package.json`)) problems.push(`dependency ${name} is not in node_modules`);
  }
  const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as Lock;
  for (const [path, info] of Object.entries(lock.packages)) {
    if (path && (info.dev || info.devOptional) && entries.has(`${path}/package.json`)) problems.push(`dev dependency ${path} is in the zip`);
  }

  for (const entry of entries) {
    if (entry.startsWith('node_modules/')) continue;
    if (/^(test|local|scripts|bench|src)\//.test(entry) || /\.test\.js$/.test(entry)) problems.push(`test or tool code: ${entry}`);
    if (/\.ts$/.test(entry)) problems.push(`TypeScript source: ${entry}`);
    if (!entry.endsWith('.js')) continue;
    // Every import of the compiled code must resolve inside the zip.
    const source = read(entry);
    // TypeScript's own scanner: it tells an import from a string 'from' in an array.
    for (const { fileName: specifier } of ts.preProcessFile(source, true, true).importedFiles) {
      if (specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) {
        const target = posix.normalize(posix.join(posix.dirname(entry), specifier));
        if (!entries.has(target)) problems.push(`${entry} imports ${specifier}, which is not in the zip`);
      } else {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!entries.has(`node_modules/${name}/package.json`)) problems.push(`${entry} imports ${name}, which is not in node_modules`);
      }
    }
  }
  return problems;
}

describe('npm run package', { timeout: 180_000 }, () => {
  test('the zip check finds what would break the host or ship test code', () => {
    const zip = new AdmZip();
    const add = (name: string, text: string) => zip.addFile(name, Buffer.from(text));
    add('package.json', JSON.stringify({ main: 'dist/functions/*.js', type: 'module', dependencies: { '@azure/functions': '4' } }));
    add(
      'dist/shared/drain.js',
      "import { x } from './missing.js';\nimport imap from 'imapflow';\nconst later = () => import('./lazy.js');\n" +
        // What broke the regex this check used to be: header names in an array read as `from ', '`.
        "const KEYS = ['to', 'from', 'cc'];\n",
    );
    add('test/drain.test.js', '');
    add('node_modules/typescript/package.json', '{}');
    const path = join(work, 'broken.zip');
    zip.writeZip(path);
    const problems = zipProblems(path, join(repoRoot, 'package-lock.json')).join('\n');
    for (const expected of [
      /host\.json is not at the root/,
      /main "dist\/functions\/\*\.js" matches no file/,
      /dependency @azure\/functions is not in node_modules/,
      /dev dependency node_modules\/typescript is in the zip/,
      /test or tool code: test\/drain\.test\.js/,
      /imports \.\/missing\.js, which is not in the zip/,
      /imports imapflow, which is not in node_modules/,
      /imports \.\/lazy\.js, which is not in the zip/,
    ]) {
      assert.match(problems, expected);
    }
    assert.doesNotMatch(problems, /imports , /, 'a string "from" in an array is not an import');
  });

  test('packages this repository into a zip the Functions host can run', () => {
    const out = join(work, 'repository.zip');
    runPackage(repoRoot, out);
    assert.deepEqual(zipProblems(out, join(repoRoot, 'package-lock.json')), []);
  });

  test('leaves out tests, local tools and scripts that sit next to the functions', () => {
    const project = join(work, 'project');
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(project, path)), { recursive: true });
      writeFileSync(join(project, path), text);
    };
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'host.json']) {
      cpSync(join(repoRoot, file), join(project, file));
    }
    // The compiler and type declarations come from the repository's install.
    symlinkSync(join(repoRoot, 'node_modules'), join(project, 'node_modules'), 'dir');
    write(
      'functions/ping.ts',
      "import { app } from '@azure/functions';\nimport { ping } from '../shared/ping.js';\n" +
        "app.timer('ping', { schedule: '0 */5 * * * *', handler: async (_timer, context) => context.log(ping()) });\n",
    );
    write('shared/ping.ts', "export const ping = (): string => 'pong';\n");
    write('shared/ping.test.ts', "import { ping } from './ping.js';\nif (ping() !== 'pong') throw new Error('ping');\n");
    write('test/ping.test.ts', "import { ping } from '../shared/ping.js';\nif (ping() !== 'pong') throw new Error('ping');\n");
    write('local/start.ts', "console.log('local only');\n");
    write('scripts/tool.ts', "console.log('tool');\n");

    const out = join(project, 'project.zip');
    runPackage(project, out);
    assert.deepEqual(zipProblems(out, join(project, 'package-lock.json')), []);
    const entries = new AdmZip(out).getEntries().map((e) => e.entryName).filter((e) => !e.startsWith('node_modules/'));
    assert.deepEqual(entries.filter((e) => !e.endsWith('.map')).sort(), [
      'dist/functions/ping.js',
      'dist/shared/ping.js',
      'host.json',
      'package-lock.json',
      'package.json',
    ]);
  });
});
