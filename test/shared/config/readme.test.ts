/** README.md's generated sections are what scripts/write-readme.ts (npm run docs) would write. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { declaredSettings } from '../../../shared/config/declaredSettings.js';
import { renderSettingsTable } from '../../../shared/config/renderSettingsTable.js';
import { withGeneratedSections, type ReadmeSection } from '../../../scripts/readmeSections.js';

const README = new URL('../../../README.md', import.meta.url);

test('README.md is what npm run docs writes', () => {
  const readme = readFileSync(README, 'utf8');
  // Not deepEqual on the whole file: name the first line that differs.
  const expected = withGeneratedSections(readme).split('\n');
  const differs = readme.split('\n').findIndex((line, i) => line !== expected[i]);
  assert.equal(differs, -1, `README.md line ${differs + 1} is not what the declaration says: run npm run docs\n  README:   ${readme.split('\n')[differs]}\n  expected: ${expected[differs]}`);
  assert.equal(readme, expected.join('\n'), 'run npm run docs');
});

test('the settings table has one row per declared setting, in the declaration\'s order', () => {
  const names = renderSettingsTable()
    .split('\n')
    .slice(2)
    .map((row) => /^\| `([^`]+)` \|/.exec(row)?.[1]);
  assert.deepEqual(names, declaredSettings.map((s) => s.name));
  // Every row has its three cells: no pipe or line break in the wording breaks one.
  for (const row of renderSettingsTable().split('\n')) assert.equal(row.split(/(?<!\\)\|/).length, 5, row);
});

test("the table's default column: the default, required, or when, in the declaration's words", () => {
  const rows = new Map(renderSettingsTable().split('\n').map((row) => [/^\| `([^`]+)`/.exec(row)?.[1], row.split(/(?<!\\)\| /).at(-1)!.replace(/ ?\|$/, '')]));
  assert.equal(rows.get('TENANT_ID'), 'required');
  assert.equal(rows.get('CLIENT_SECRET_NAME'), 'required for `secret`');
  assert.equal(rows.get('IMAP_PORT'), '`993`');
  assert.equal(rows.get('MAX_MESSAGE_BYTES'), '`52428800` (50 MB)');
  assert.equal(rows.get('AZURE_CLIENT_ID'), 'system-assigned identity; required for `federated`');
  assert.equal(rows.get('OUTPUT_STORAGE__credential'), '');
});

const section = (name: string, text: string): ReadmeSection => ({ name, source: `${name}.ts`, render: () => text });

test('each section replaces the text between its own markers and nothing else', () => {
  const readme = '# x\n\n<!-- a:start -->\nold a\n<!-- a:end -->\n\nprose\n<!-- b:start --><!-- b:end -->\nend\n';
  const written = withGeneratedSections(readme, [section('a', 'new a'), section('b', '| t |\n')]);
  assert.equal(written, '# x\n\n<!-- a:start -->\n\nnew a\n\n<!-- a:end -->\n\nprose\n<!-- b:start -->\n\n| t |\n\n<!-- b:end -->\nend\n');
  assert.equal(withGeneratedSections(written, [section('a', 'new a'), section('b', '| t |\n')]), written, 'a second run changes nothing');
});

test('a section without its markers, or with them twice or reversed, is an error that names them', () => {
  for (const readme of ['no markers', '<!-- a:start -->', '<!-- a:end --><!-- a:start -->', '<!-- a:start --><!-- a:end --><!-- a:start --><!-- a:end -->']) {
    assert.throws(() => withGeneratedSections(readme, [section('a', 'x')]), /README\.md needs the lines <!-- a:start --> and <!-- a:end -->, once each and in that order, around the a written from a\.ts/, readme);
  }
});
