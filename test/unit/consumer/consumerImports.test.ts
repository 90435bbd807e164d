/**
 * mail-drain/consumer is what consumers install into their own apps: it may
 * reach the contract and the error helpers, never the drain, the mailbox, the
 * settings (which read process.env) or the SDKs the drain needs. Followed
 * through every relative import from its entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const ALLOWED_DIRS = ['shared/consumer/', 'shared/contract/', 'shared/errors/'];
const ALLOWED_PACKAGES = new Set(['zod', '@azure/storage-blob', '@azure/identity']);

test('shared/consumer reaches only contract/, errors/ and its own few packages', () => {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const { fileName } of ts.preProcessFile(readFileSync(join(repoRoot, file), 'utf8'), true, true).importedFiles) {
      if (fileName.startsWith('node:')) continue;
      if (fileName.startsWith('.')) visit(relative(repoRoot, join(repoRoot, dirname(file), fileName.replace(/\.js$/, '.ts'))));
      else packages.add(fileName.startsWith('@') ? fileName.split('/').slice(0, 2).join('/') : fileName.split('/')[0]!);
    }
  };
  visit('shared/consumer/index.ts');
  assert.ok(seen.has('shared/consumer/readMailMessage.ts') && seen.has('shared/contract/queueMessage.ts'));
  assert.deepEqual([...seen].filter((f) => !ALLOWED_DIRS.some((d) => f.startsWith(d))), []);
  assert.deepEqual([...packages].filter((p) => !ALLOWED_PACKAGES.has(p)), []);
  // errors/ as a whole would bring the drain's remedies and the logger: only the two classifiers are used.
  assert.deepEqual([...seen].filter((f) => f.startsWith('shared/errors/')).sort(), ['shared/errors/errorChain.ts', 'shared/errors/isNetworkError.ts']);
});
