/**
 * The conventions of the Azure Verified Modules that a reader relies on
 * (STYLE.md, "Infrastructure reads like the Azure Verified Modules"): described
 * parameters and outputs, secrets marked @secure() and never output, no
 * hard-coded region, tags passed on, and an example parameters file that
 * matches main.bicep.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { allowedValues } from './support/bicep.js';
import { descriptionProblems, locationProblems, secretProblems } from './support/checks.js';
import { infraDir, loadTemplates } from './support/infra.js';

const templates = await loadTemplates();

describe('infra/ conventions', () => {
  for (const [name, file] of templates) {
    test(`${name}: parameters say Required. or Optional. in @description (matching their default), outputs are described`, () => {
      assert.deepEqual(descriptionProblems(name, file), []);
    });

    test(`${name}: secret parameters are @secure() and no output reveals them`, () => {
      assert.deepEqual(secretProblems(name, file), []);
    });

    test(`${name}: resources take their region from a parameter and pass tags on`, () => {
      assert.deepEqual(locationProblems(name, file), []);
    });
  }

  test('main.bicep is deployed at resource-group scope', () => {
    const scope = templates.get('main.bicep')!.root.namedChildren.find((n) => n.type === 'target_scope_assignment');
    assert.equal(scope?.namedChildren[0]?.text, "'resourceGroup'");
  });

  // tree-sitter-bicep does not parse .bicepparam (`param x = value` has no type), so
  // this reads it line by line: it holds only `using`, comments and one-line `param`s.
  test('main.bicepparam uses main.bicep, sets only its parameters with allowed values, and every required one', () => {
    const main = templates.get('main.bicep')!;
    const text = readFileSync(join(infraDir, 'main.bicepparam'), 'utf8');
    assert.equal(/^using '([^']+)'/m.exec(text)?.[1], 'main.bicep');
    const assigned = new Map([...text.matchAll(/^param\s+(\w+)\s*=\s*(.+)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
    const problems: string[] = [];
    for (const [param, value] of assigned) {
      const declared = main.params.find((p) => p.name === param);
      if (!declared) {
        problems.push(`main.bicepparam sets ${param}, which main.bicep does not declare`);
        continue;
      }
      const allowed = allowedValues(declared);
      const literal =
        /^'([^']*)'$/.exec(value)?.[1] ??
        (/^\d+$/.test(value) ? Number(value) : value === 'true' ? true : value === 'false' ? false : undefined);
      if (allowed && literal !== undefined && !allowed.includes(literal)) {
        problems.push(`main.bicepparam: ${param} = ${value} is not one of ${allowed.join(', ')}`);
      }
    }
    for (const param of main.params) {
      if (!param.defaultValue && !param.type.endsWith('?') && !assigned.has(param.name)) problems.push(`main.bicepparam does not set required ${param.name}`);
    }
    assert.deepEqual(problems, []);
  });
});
