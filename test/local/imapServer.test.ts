import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { drain, isComplete } from '../../shared/drain/drain.js';
import { findMailbox, forMailbox } from '../../shared/config/settings.js';
import { capturingLogger, seededDemo, startTestStack, type TestStack } from '../support/localStack.js';

const INVOICES = 'invoices@contoso.example';
const ORDERS = 'orders@contoso.example';

let stack: TestStack;
/** What each mailbox was seeded with: its subjects, and its messages' sources. */
let seeded: Record<string, { subjects: string[]; sources: string[] }>;
before(async () => {
  const invoices = await seededDemo(INVOICES);
  const orders = await seededDemo(ORDERS);
  const of = (demo: typeof invoices.demo) => ({ subjects: demo.map((m) => m.subject).sort(), sources: demo.map((m) => m.raw.toString('base64')).sort() });
  seeded = { [INVOICES]: of(invoices.demo.slice(0, 3)), [ORDERS]: of(orders.demo.slice(3, 5)) };
  stack = await startTestStack({
    mailboxes: [
      { mailbox: INVOICES, messages: invoices.messages.slice(0, 3) },
      { mailbox: ORDERS, messages: orders.messages.slice(3, 5) },
    ],
  });
});
after(() => stack.stop());

const sourcesIn = (folder: string, mailbox: string) => stack.imap.messages(folder, mailbox).map((m) => m.raw.toString('base64')).sort();

test('each mailbox has its own folders and UIDs; the first is the one named by default', () => {
  assert.equal(stack.imap.messages('INBOX', INVOICES).length, 3);
  assert.equal(stack.imap.messages('INBOX', ORDERS.toUpperCase()).length, 2, 'addresses in any case');
  assert.deepEqual(stack.imap.messages('INBOX', ORDERS).map((m) => m.uid), [1, 2], 'UIDs count per mailbox');
  assert.deepEqual(stack.imap.messages('INBOX'), stack.imap.messages('INBOX', INVOICES));
  assert.deepEqual(stack.imap.messages('INBOX', 'unseeded@contoso.example'), [], 'a mailbox nobody seeded is empty');
});

test('two sessions at once, one per mailbox: each drain sees only its own mail and settles only its own', async () => {
  const settings = stack.settingsWith();
  const [invoices, orders] = await Promise.all(
    [INVOICES, ORDERS].map((mailbox) => drain(forMailbox(settings, findMailbox(settings, mailbox)!), capturingLogger().logger)),
  );
  assert.ok(isComplete(invoices!) && isComplete(orders!));
  assert.equal(invoices!.found, 3);
  assert.equal(orders!.found, 2);

  const queued = await stack.drainQueue();
  for (const mailbox of [INVOICES, ORDERS]) {
    const arrived = queued.filter((m) => m.mailbox === mailbox).map((m) => m.subject);
    assert.deepEqual(arrived.sort(), seeded[mailbox]!.subjects, `what ${mailbox} handed off`);
    assert.deepEqual(stack.imap.messages('INBOX', mailbox), [], `${mailbox} INBOX is empty`);
    assert.deepEqual(sourcesIn('Processed', mailbox), seeded[mailbox]!.sources, `${mailbox} Processed holds its own mail`);
  }
  assert.equal(queued.length, 5);
});

test('append and reseed still mean the first mailbox; append can name another', async () => {
  const { messages } = await seededDemo();
  stack.imap.append('INBOX', messages[0]!, ORDERS);
  assert.equal(stack.imap.messages('INBOX', ORDERS).length, 1);
  assert.equal(stack.imap.messages('INBOX', INVOICES).length, 0);
  await stack.reseed(messages.slice(0, 2));
  assert.equal(stack.imap.messages('INBOX').length, 2);
  assert.equal(stack.imap.messages('INBOX', ORDERS).length, 0, 'a reseeded server starts every other mailbox empty');
});
