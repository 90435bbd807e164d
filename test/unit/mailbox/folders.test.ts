/** canonicalPath: one folder, one name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalPath } from '../../../shared/mailbox/folders.js';

test('canonicalPath: INBOX in any case is INBOX; another folder takes the listed spelling only when one differs just by case', () => {
  assert.equal(canonicalPath('inbox', []), 'INBOX');
  assert.equal(canonicalPath('InBoX', ['INBOX']), 'INBOX');
  assert.equal(canonicalPath('invoices', ['INBOX', 'Invoices']), 'Invoices');
  assert.equal(canonicalPath('Invoices', ['INBOX', 'Invoices', 'invoices']), 'Invoices', 'an exact match wins');
  assert.equal(canonicalPath('INVOICES', ['Invoices', 'invoices']), 'INVOICES', 'ambiguous: as typed');
  assert.equal(canonicalPath('Archive/2026', ['INBOX']), 'Archive/2026', 'unknown: as typed (the server says whether it exists)');
});
