/**
 * `npm start`: a real fan-out on the embedded local stack.
 *
 * Starts the stack with three demo mailboxes (orders@ with a queue of its own,
 * the MAILBOXES override), then runs the function app's own handlers in a
 * separate process with the stack's app settings, as the Functions host runs
 * them in Azure (local/functionHost.ts): the timer requests a drain of each
 * mailbox on the control queue, and the queue trigger drains each request.
 * Then shows, per mailbox, what arrived on its queue, what is left in its
 * folders, and how its last drain ended. Exits 0 when every drain completed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueServiceClient } from '@azure/storage-queue';
import { loadSettings } from '../shared/config/loadSettings.js';
import type { MailboxTarget } from '../shared/config/settings.js';
import { decodeFromQueue, type QueueMessage } from '../shared/contract/queueMessage.js';
import { Outbox } from '../shared/outbox/outbox.js';
import type { MailboxStatus } from '../shared/outbox/mailboxStatus.js';
import { demoMessages } from './demoMailbox.js';
import { startLocalStack, type LocalStack, type StackMailbox } from './stack.js';

// Beside this file, compiled (dist/local/) or not (under tsx, which process.execArgv passes on).
const HERE = fileURLToPath(import.meta.url);
const FUNCTION_HOST = join(dirname(HERE), `functionHost${extname(HERE)}`);

/** Each demo mailbox gets some of the demo messages, by kind (local/demoMailbox.ts), so that together they show every kind. */
const DEMO_MAILBOXES: { mailbox: string; name: string; kinds: string[]; outputQueue?: string }[] = [
  { mailbox: 'invoices@contoso.example', name: 'Invoices', kinds: ['non-ASCII subject and body', 'PDF attachment over 100 KB', 'forwarded message'] },
  { mailbox: 'orders@contoso.example', name: 'Orders', kinds: ['plain text', 'multipart/alternative', 'larger than a queue message'], outputQueue: 'orders-mail' },
  { mailbox: 'support@contoso.example', name: 'Support', kinds: ['HTML only', 'inline image'] },
];

async function main(): Promise<number> {
  console.log('Starting the local stack (Entra ID, managed identity and Key Vault fakes, Azurite, IMAP server)...');
  const stack = await startLocalStack({ mailboxes: await demoMailboxes() });
  try {
    const { mailboxes } = loadSettings(stack.settings);
    for (const target of mailboxes) {
      const kinds = DEMO_MAILBOXES.find((d) => d.mailbox === target.mailbox)!.kinds;
      console.log(`Demo mailbox ${target.mailbox} holds ${kinds.length} messages (${kinds.join(', ')}); its queue is "${target.queueName}".`);
    }
    console.log(`\nMAILBOXES=${stack.settings.MAILBOXES}\n`);
    console.log('$ the function app: one timer tick, then the control queue drained   (settings: the local stack)\n');
    const hostExitCode = await runFunctionHost(stack);

    const arrived = await receiveEveryQueue(stack, mailboxes);
    const statuses = await Promise.all(mailboxes.map((target) => readStatus(stack, target)));
    mailboxes.forEach((target, i) => {
      console.log(`${describeMailbox(target, statuses[i], arrived.filter((m) => m.mailbox.toLowerCase() === target.mailbox.toLowerCase()), stack)}\n`);
    });
    const completed = statuses.filter((s) => s?.lastRun.outcome === 'completed').length;
    console.log(`${completed} of ${mailboxes.length} mailboxes drained completely.`);
    return hostExitCode === 0 && completed === mailboxes.length ? 0 : 1;
  } finally {
    await stack.stop();
  }
}

async function demoMailboxes(): Promise<StackMailbox[]> {
  return Promise.all(
    DEMO_MAILBOXES.map(async ({ mailbox, name, kinds, outputQueue }) => {
      const demo = await demoMessages(mailbox, name);
      const messages = kinds.map((kind, i) => {
        const message = demo.find((m) => m.kind === kind);
        if (!message) throw new Error(`local/demoMailbox.ts has no demo message of kind "${kind}"`);
        return { raw: message.raw, internalDate: new Date(Date.UTC(2026, 10, 20, 8, i)) };
      });
      return { mailbox, messages, outputQueue };
    }),
  );
}

/** The function app's process: the stack's app settings and what the platform provides, and nothing of this shell's MAILBOX. */
async function runFunctionHost(stack: LocalStack): Promise<number> {
  const { MAILBOX: _, ...inherited } = process.env;
  const child = spawn(process.execPath, [...process.execArgv, FUNCTION_HOST], {
    stdio: 'inherit',
    env: { ...inherited, ...stack.settings, ...stack.platformEnv },
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? 1;
}

/** Every message on the mailboxes' queues, received and deleted. */
async function receiveEveryQueue(stack: LocalStack, mailboxes: MailboxTarget[]): Promise<QueueMessage[]> {
  const queues = QueueServiceClient.fromConnectionString(stack.azurite.connectionString);
  const messages: QueueMessage[] = [];
  for (const name of new Set(mailboxes.map((t) => t.queueName))) {
    const queue = queues.getQueueClient(name);
    for (;;) {
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
      if (receivedMessageItems.length === 0) break;
      for (const item of receivedMessageItems) {
        messages.push(decodeFromQueue(item.messageText));
        await queue.deleteMessage(item.messageId, item.popReceipt);
      }
    }
  }
  return messages;
}

/** The status the mailbox's last drain wrote in its container. */
function readStatus(stack: LocalStack, target: MailboxTarget): Promise<MailboxStatus | undefined> {
  const storage = { kind: 'connectionString', connectionString: stack.azurite.connectionString } as const;
  return Outbox.open(storage, target, () => {
    throw new Error('Azurite is reached with its connection string, not an identity');
  }).readStatus(target.mailbox, target.folder);
}

function describeMailbox(target: MailboxTarget, status: MailboxStatus | undefined, messages: QueueMessage[], stack: LocalStack): string {
  const run = status?.lastRun;
  const outcome = run
    ? `${run.outcome}: ${run.handedOff} handed off, ${run.quarantined} quarantined${run.error ? `; ${run.error.code ?? 'error'}: ${run.error.message}` : ''}`
    : 'no drain ran';
  const lines = [`${target.mailbox} (last drain ${outcome})`, `  Queue "${target.queueName}" received ${messages.length} message(s) from it:`];
  const kb = (bytes: number) => (bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KB`);
  for (const m of messages.sort((a, b) => a.uid - b.uid)) {
    const from = (m.from ?? []).map((a) => (a.name ? `${a.name} <${a.address}>` : a.address)).join(', ');
    lines.push(`    UID ${m.uid}  "${m.subject ?? '(no subject)'}"  from ${from || '(unknown)'}`);
    if ('payloadBlobUrl' in m) {
      lines.push(`        too large for a queue message: the full JSON (${kb(m.payloadSize)}) is at ${m.payloadBlobUrl}`);
      continue;
    }
    lines.push(`        raw MIME ${kb(m.raw.size)} -> ${m.raw.blobUrl}`);
    for (const a of m.attachments) {
      lines.push(`        ${a.inline ? 'inline' : 'attachment'} ${a.filename ?? '(unnamed)'} (${a.contentType}, ${kb(a.size)}) -> ${a.blobUrl}`);
    }
  }
  const count = (folder: string) => stack.imap.messages(folder, target.mailbox).length;
  lines.push(`  Mailbox now: ${target.folder} ${count(target.folder)}, ${target.processedFolder} ${count(target.processedFolder)}, ${target.failedFolder} ${count(target.failedFolder)}.`);
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`The local stack failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
