/**
 * `mail-drain/consumer` is importable as a consumer imports it: the project's
 * own build (npm run build's tsc -p .) emits the library and its types where
 * package.json "exports" points, Node resolves the subpath (a package may
 * import itself by name), and TypeScript type-checks a consumer against it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// A copy of the package: its package.json, the repository's node_modules, and a build into its dist/.
const project = mkdtempSync(join(tmpdir(), 'mail-drain-consumer-export-'));
after(() => rmSync(project, { recursive: true, force: true }));

const run = (args: string[], cwd = project) => {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, `${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
};

test('package.json exports ./consumer with its types, from dist/', { timeout: 240_000 }, () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; main: string; exports: Record<string, unknown> };
  assert.equal(pkg.name, 'mail-drain');
  assert.deepEqual(pkg.exports['./consumer'], { types: './dist/shared/consumer/index.d.ts', import: './dist/shared/consumer/index.js' });
  assert.equal(pkg.main, 'dist/functions/*.js', 'the Functions host still finds the functions by main');

  copyFileSync(join(repoRoot, 'package.json'), join(project, 'package.json'));
  symlinkSync(join(repoRoot, 'node_modules'), join(project, 'node_modules'), 'dir');
  run([tsc, '-p', repoRoot, '--outDir', join(project, 'dist')], repoRoot);
  for (const file of ['index.js', 'index.d.ts', 'readMailMessage.d.ts']) {
    assert.ok(existsSync(join(project, 'dist/shared/consumer', file)), `the build emitted no dist/shared/consumer/${file}`);
  }

  // npm pack (what a consumer's app installs, README "Consuming it"): the library and its types, not the tests or the local stack.
  const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: project, encoding: 'utf8' });
  assert.equal(packed.status, 0, packed.stderr);
  const files = (JSON.parse(packed.stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
  for (const file of ['dist/shared/consumer/index.js', 'dist/shared/consumer/index.d.ts', 'dist/shared/contract/queueMessage.js', 'package.json']) {
    assert.ok(files.includes(file), `npm pack leaves out ${file}`);
  }
  assert.deepEqual(files.filter((f) => /^dist\/(test|local|bench|scripts|examples)\/|\.map$/.test(f)), [], 'npm pack ships only the library and the functions');

  // Node: the subpath resolves, and exports what the README shows.
  const keys = run(['--input-type=module', '-e', "const m = await import('mail-drain/consumer'); console.log(Object.keys(m).sort().join(' '))"]).trim().split(' ');
  for (const name of ['readMailMessage', 'ConsumerError', 'isConsumerError', 'isDoctorProbe']) assert.ok(keys.includes(name), `mail-drain/consumer does not export ${name}: ${keys.join(', ')}`);

  // TypeScript: a consumer's code type-checks against the emitted declarations, and a wrong use does not.
  writeFileSync(
    join(project, 'consumer.ts'),
    [
      "import { readMailMessage, isConsumerError, type ConsumedMail } from 'mail-drain/consumer';",
      'export async function handle(item: unknown, blobs: string): Promise<number> {',
      '  const mail: ConsumedMail | null = await readMailMessage(item, { blobs });',
      '  if (mail === null) return 0;',
      '  const bytes: Buffer = await mail.attachments[0]!.read();',
      "  try { await mail.raw.read(); } catch (e) { if (isConsumerError(e) && e.code === 'CONSUMER_BLOB_GONE') return -1; }",
      '  return bytes.length + mail.uid;',
      '}',
      '',
    ].join('\n'),
  );
  writeFileSync(join(project, 'wrong.ts'), "import { readMailMessage } from 'mail-drain/consumer';\nexport const n: number = (await readMailMessage('x', { blobs: 'y' }))!.subject;\n");
  const check = (file: string) =>
    spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--skipLibCheck', '--types', 'node', file], {
      cwd: project,
      encoding: 'utf8',
    });
  const good = check('consumer.ts');
  assert.equal(good.status, 0, good.stdout);
  const wrong = check('wrong.ts');
  assert.match(wrong.stdout, /wrong\.ts.*TS2322/, 'the types say subject is a string or null');
});
