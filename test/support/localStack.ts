/**
 * The local stack for integration tests: the product's real code against
 * Azurite, the in-process IMAP server and the HTTP-boundary fakes.
 */
import { QueueServiceClient } from '@azure/storage-queue';
import { BlobServiceClient } from '@azure/storage-blob';
import { demoMessages, type DemoMessage } from '../../local/demoMailbox.js';
import { startLocalStack, type LocalStack, type StackOptions } from '../../local/stack.js';
import type { SeedMessage } from '../../local/imapServer.js';
import { after, before, beforeEach } from 'node:test';
import { decodeFromQueue, poisonMessageSchema, type PoisonMessage, type QueueMessage } from '../../shared/contract/queueMessage.js';
import { createLogger, type LogSink } from '../../shared/errors/logger.js';
import { loadSettings } from '../../shared/config/loadSettings.js';
import type { Settings } from '../../shared/config/settings.js';
import type { SettingName } from '../../shared/config/settingsSchema.js';

export interface TestStack extends LocalStack {
  /** Settings for the drain, with overrides (names as app settings). */
  settingsWith(overrides?: { [K in SettingName]?: string }): Settings;
  /** Receives and deletes every message on a queue. */
  drainQueue(queueName?: string): Promise<QueueMessage[]>;
  /** Receives and deletes every message on the poison queue. */
  drainPoisonQueue(): Promise<PoisonMessage[]>;
  /** Receives and deletes every message on a queue, as the Functions host hands them to a trigger: base64 decoded, JSON parsed, not validated. */
  hostItems(queueName?: string): Promise<Record<string, unknown>[]>;
  readBlob(url: string): Promise<Buffer>;
}

/**
 * One stack per test file: MSAL keeps the managed identity endpoint and its
 * tokens process-wide, so a second stack in the same process would be sent the
 * first one's tokens. Use `reseed` for a fresh mailbox.
 *
 * Starts the stack and exposes the platform's variables (managed identity
 * endpoint) to this process, as App Service does to a function app.
 */
export async function startTestStack(options: StackOptions = {}): Promise<TestStack> {
  const stack = await startLocalStack(options);
  const stopStack = stack.stop.bind(stack);
  const saved = Object.fromEntries(Object.keys(stack.platformEnv).map((k) => [k, process.env[k]]));
  Object.assign(process.env, stack.platformEnv);
  const blobs = BlobServiceClient.fromConnectionString(stack.azurite.connectionString);
  const queues = QueueServiceClient.fromConnectionString(stack.azurite.connectionString);

  return Object.assign(stack, {
    settingsWith: (overrides = {}) => loadSettings({ ...stack.settings, ...overrides }),
    drainQueue: (queueName = stack.queueName) => receiveAll(queues.getQueueClient(queueName), decodeFromQueue),
    hostItems: (queueName = stack.queueName) =>
      receiveAll(queues.getQueueClient(queueName), (text) => JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as Record<string, unknown>),
    drainPoisonQueue: () =>
      receiveAll(queues.getQueueClient(`${stack.queueName}-poison`), (text) =>
        poisonMessageSchema.parse(JSON.parse(Buffer.from(text, 'base64').toString('utf8'))),
      ),
    async readBlob(url: string) {
      const path = new URL(url).pathname.split('/').slice(3).join('/');
      return blobs.getContainerClient(stack.containerName).getBlobClient(decodeURIComponent(path)).downloadToBuffer();
    },
    async stop() {
      await stopStack();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  });
}

async function receiveAll<T>(queue: ReturnType<QueueServiceClient['getQueueClient']>, decode: (text: string) => T): Promise<T[]> {
  const messages: T[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return messages;
    for (const item of receivedMessageItems) {
      messages.push(decode(item.messageText));
      await queue.deleteMessage(item.messageId, item.popReceipt);
    }
  }
}

export type SeededDemo = Awaited<ReturnType<typeof seededDemo>>;

/**
 * The hooks every integration test file needs: one stack for the file, and
 * each test with empty queues. (A drain without a CredentialCache reads its
 * own credential, as a new process would.) `ready` receives the stack and the demo messages once they exist.
 */
export function useTestStack(ready: (stack: TestStack, seeded: SeededDemo) => void): void {
  let stack: TestStack | undefined;
  before(async () => {
    const seeded = await seededDemo();
    stack = await startTestStack();
    ready(stack, seeded);
  });
  after(() => stack?.stop());
  beforeEach(async () => {
    await stack!.drainQueue();
    await stack!.drainPoisonQueue();
  });
}

export async function seededDemo(mailbox = 'invoices@contoso.example'): Promise<{ demo: DemoMessage[]; messages: SeedMessage[] }> {
  const demo = await demoMessages(mailbox);
  return { demo, messages: demo.map((m, i) => ({ raw: m.raw, internalDate: new Date(Date.UTC(2026, 10, 20, 8, i)) })) };
}

/** A logger that keeps every line, at debug level. */
export function capturingLogger() {
  const lines: string[] = [];
  const sink: LogSink = { debug: (l) => lines.push(l), info: (l) => lines.push(l), warn: (l) => lines.push(l), error: (l) => lines.push(l) };
  return { lines, logger: createLogger(sink, 'debug') };
}
