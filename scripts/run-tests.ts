/**
 * Runs the test suite with node's test runner. The local CA must exist before
 * the test processes start, because Node reads NODE_EXTRA_CA_CERTS only then.
 *
 *   tsx scripts/run-tests.ts [file-or-folder ...]   (default: test/)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateLocalCa } from '../local/ca.js';

function testFiles(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => {
      const child = join(path, name);
      if (statSync(child).isDirectory()) return testFiles(child);
      return name.endsWith('.test.ts') ? [child] : [];
    });
}

const targets = process.argv.slice(2);
const files = (targets.length > 0 ? targets : ['test']).flatMap(testFiles);
if (files.length === 0) {
  console.error('No test files found.');
  process.exit(1);
}

const ca = loadOrCreateLocalCa();
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.certPath } },
);
process.exit(result.status ?? 1);
