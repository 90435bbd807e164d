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

test('canonicalPath: a subfolder of INBOX, or a name outside ASCII, typed in another case takes the listed spelling', () => {
  assert.equal(canonicalPath('inbox/invoices', ['INBOX', 'INBOX/Invoices']), 'INBOX/Invoices');
  assert.equal(canonicalPath('rechnungen/märz', ['INBOX', 'Rechnungen/März']), 'Rechnungen/März');
  assert.equal(canonicalPath('INBOXES', ['INBOX', 'Inboxes']), 'Inboxes', 'only INBOX itself is INBOX');
});

test('canonicalPath never makes one folder of two that differ by more than case', () => {
  assert.equal(canonicalPath('Invoice', ['Invoices']), 'Invoice');
  assert.equal(canonicalPath('Invoices ', ['Invoices']), 'Invoices ');
});
