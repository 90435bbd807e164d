/**
 * `npm start`: a real drain on the embedded local stack.
 *
 * Starts the stack, seeds the demo mailbox, runs the product's own command line
 * (`mail-drain drain`) as a separate process with the stack's settings, exactly
 * as it runs against Azure, then shows what arrived on the queue and what is
 * left in the mailbox.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { QueueServiceClient } from '@azure/storage-queue';
import { decodeFromQueue, type QueueMessage } from '../shared/contract/queueMessage.js';
import { demoMessages } from './demoMailbox.js';
import { startLocalStack, type LocalStack } from './stack.js';

const CLI = fileURLToPath(new URL('../../bin/mail-drain.js', import.meta.url));

async function main(): Promise<number> {
  console.log('Starting the local stack (Entra ID, managed identity and Key Vault fakes, Azurite, IMAP server)...');
  const demo = await demoMessages('invoices@contoso.example');
  const stack = await startLocalStack({ messages: demo.map((m, i) => ({ raw: m.raw, internalDate: new Date(Date.UTC(2026, 10, 20, 8, i)) })) });
  try {
    console.log(`Demo mailbox ${stack.mailbox} holds ${demo.length} messages: ${demo.map((m) => m.kind).join(', ')}.\n`);
    console.log('$ mail-drain drain   (settings: the local stack; logs on stderr)\n');
    const exitCode = await runCli(stack);
    console.log(`\nmail-drain exited with ${exitCode}.\n`);
    console.log(await describeQueue(stack));
    console.log(describeMailbox(stack));
    return exitCode;
  } finally {
    await stack.stop();
  }
}

async function runCli(stack: LocalStack): Promise<number> {
  const child = spawn(process.execPath, [CLI, 'drain'], {
    stdio: 'inherit',
    env: { ...process.env, ...stack.settings, ...stack.platformEnv },
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? 1;
}

async function describeQueue(stack: LocalStack): Promise<string> {
  const queue = QueueServiceClient.fromConnectionString(stack.azurite.connectionString).getQueueClient(stack.queueName);
  const messages: QueueMessage[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) break;
    for (const item of receivedMessageItems) {
      messages.push(decodeFromQueue(item.messageText));
      await queue.deleteMessage(item.messageId, item.popReceipt);
    }
  }
  const kb = (bytes: number) => (bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KB`);
  const lines = [`Queue "${stack.queueName}" received ${messages.length} message(s):`];
  for (const m of messages.sort((a, b) => a.uid - b.uid)) {
    const from = (m.from ?? []).map((a) => (a.name ? `${a.name} <${a.address}>` : a.address)).join(', ');
    lines.push(`  UID ${m.uid}  "${m.subject ?? '(no subject)'}"  from ${from || '(unknown)'}`);
    if ('payloadBlobUrl' in m) {
      lines.push(`      too large for a queue message: the full JSON (${kb(m.payloadSize)}) is at ${m.payloadBlobUrl}`);
      continue;
    }
    lines.push(`      raw MIME ${kb(m.raw.size)} -> ${m.raw.blobUrl}`);
    for (const a of m.attachments) {
      lines.push(`      ${a.inline ? 'inline' : 'attachment'} ${a.filename ?? '(unnamed)'} (${a.contentType}, ${kb(a.size)}) -> ${a.blobUrl}`);
    }
  }
  return lines.join('\n');
}

function describeMailbox(stack: LocalStack): string {
  const count = (folder: string) => stack.imap.messages(folder).length;
  return `\nMailbox now: INBOX ${count('INBOX')}, Processed ${count('Processed')}, Failed ${count('Failed')}.`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`The local stack failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
