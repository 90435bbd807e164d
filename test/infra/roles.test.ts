/**
 * Role assignments are least privilege and say which role they grant: every
 * GUID in the templates is named by the comment above it, as infra/roles.md
 * names it; every assignment grants a role of that table, in a file and at a
 * scope the table allows, named guid(scope.id, principal, role).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { guidCommentProblems, guidsUsed, roleAssignmentProblems } from './support/checks.js';
import { loadTemplates, readRoleTable } from './support/infra.js';

const templates = await loadTemplates();
const table = readRoleTable();

describe('infra/ role and application IDs', () => {
  test('infra/roles.md lists roles and applications, each once', () => {
    assert.ok(table.roles.length > 0 && table.applications.length > 0);
    const ids = [...table.roles, ...table.applications].map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'an ID is listed twice');
    for (const role of table.roles) {
      assert.ok(role.files.length > 0 && role.scopes.length > 0, `${role.name}: no file or scope in infra/roles.md`);
    }
  });

  test('every GUID in the templates is named by the comment above it, as infra/roles.md names it', () => {
    assert.deepEqual(guidCommentProblems(templates, [...table.roles, ...table.applications]), []);
  });

  test('every role assignment grants a listed role, in a listed file, at a listed scope, named after scope, principal and role', () => {
    const assignments = [...templates.values()].flatMap((f) => f.resources).filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    assert.ok(assignments.length > 0, 'no role assignment found');
    assert.deepEqual(roleAssignmentProblems(templates, table.roles), []);
  });

  test('every row of infra/roles.md is used by the templates', () => {
    const used = guidsUsed(templates);
    assert.deepEqual([...table.roles, ...table.applications].filter((r) => !used.has(r.id)).map((r) => r.name), []);
  });
});
