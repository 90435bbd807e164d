/**
 * The templates parse, and every resource body fits its type in the same type
 * data the Bicep compiler uses (test/fixtures/bicep-types), since the compiler
 * itself cannot run here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { moduleProblems, syntaxProblems, typeProblems, unusedDeclarations } from './support/checks.js';
import { bicepTypes, infraDir, loadTemplates } from './support/infra.js';

const templates = await loadTemplates();

describe('infra/ templates', () => {
  test('there is a main.bicep and modules', () => {
    assert.ok(templates.has('main.bicep'), 'infra/main.bicep is missing');
    assert.ok([...templates.keys()].some((k) => k.startsWith('modules/')), 'infra/modules/ has no .bicep file');
  });

  for (const [name, file] of templates) {
    test(`${name} parses with tree-sitter-bicep without error`, () => {
      assert.deepEqual(syntaxProblems(name, file), []);
    });
  }

  test('extension statements name an extension of infra/bicepconfig.json, and only Microsoft.Graph resources need one', () => {
    const config = JSON.parse(readFileSync(join(infraDir, 'bicepconfig.json'), 'utf8')) as { extensions?: Record<string, string> };
    for (const [name, file] of templates) {
      for (const extension of file.extensions) {
        assert.ok(config.extensions?.[extension], `${name}: extension ${extension} is not in infra/bicepconfig.json`);
      }
      const graph = file.resources.some((r) => r.type.startsWith('Microsoft.Graph/'));
      assert.equal(graph, file.extensions.length > 0, `${name}: Microsoft.Graph resources need "extension microsoftGraphV1", and only they do`);
    }
  });

  for (const [name, file] of templates) {
    test(`${name}: resource types are indexed, bodies and property reads fit the types, parents fit the children`, () => {
      assert.deepEqual(typeProblems(name, file, bicepTypes()), []);
    });
  }

  for (const [name, file] of templates) {
    if (file.modules.length === 0) continue;
    test(`${name}: module calls match the modules' parameters and outputs`, () => {
      assert.deepEqual(moduleProblems(name, file, templates), []);
    });
  }

  for (const [name, file] of templates) {
    test(`${name}: every parameter and variable is used`, () => {
      assert.deepEqual(unusedDeclarations(name, file), []);
    });
  }
});
