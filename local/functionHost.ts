/**
 * The Azure Functions host's part in one timer tick, played by this process for
 * `npm start`: it runs the function app's own handlers (functions/drainMailbox.ts)
 * the way the host does, with the app settings in the environment.
 *
 *   1. the timer fires: `requestDrains` sends one drain request per mailbox to
 *      the control queue (DRAIN_REQUESTS_QUEUE, in Azurite);
 *   2. the queue trigger: each request is received, decoded as the host decodes
 *      it (base64, then JSON as an object), handed to `drainMailbox`, and
 *      deleted once the handler resolves. Follow-up requests a drain sends are
 *      served the same way, until the queue is empty.
 *
 * One request at a time, as host.json's queue limits (batchSize 1) run them on
 * one instance. Every log line of an invocation is printed, as `func start` does.
 * Exits 0 when every invocation succeeded.
 */
import { randomUUID } from 'node:crypto';
import functions, { type InvocationContext as Context, type Timer } from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';

// The package is CommonJS; Node's ESM loader does not see InvocationContext as a named export.
const { InvocationContext } = functions;

/** How long a received request stays invisible: longer than this run, so a failed one is not served twice here. */
const VISIBILITY_TIMEOUT_SECONDS = 10 * 60;

type Handler = (input: unknown, context: Context) => Promise<void>;

async function main(): Promise<number> {
  const { requestDrains, drainMailbox } = await importFunctions();
  // The same app settings the handlers read: the host gives both to the process.
  const storage = process.env.OUTPUT_STORAGE;
  const controlQueueName = process.env.DRAIN_REQUESTS_QUEUE;
  if (!storage || !controlQueueName) throw new Error('OUTPUT_STORAGE (a connection string) and DRAIN_REQUESTS_QUEUE must be set');
  const controlQueue = QueueServiceClient.fromConnectionString(storage).getQueueClient(controlQueueName);

  const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
  let failed = 0;
  if (!(await invoke('requestDrains', "Reason='Timer fired'", (context) => requestDrains(timer, context)))) failed++;

  for (;;) {
    const { receivedMessageItems } = await controlQueue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: VISIBILITY_TIMEOUT_SECONDS });
    const message = receivedMessageItems[0];
    if (!message) break;
    const reason = `Reason='New queue message detected on '${controlQueueName}'.'`;
    if (await invoke('drainMailbox', reason, (context) => drainMailbox(decoded(message.messageText), context))) {
      await controlQueue.deleteMessage(message.messageId, message.popReceipt);
    } else {
      failed++;
      console.log(`  (left on ${controlQueueName}: the host tries a request up to five times, 30 seconds apart, then moves it to ${controlQueueName}-poison)`);
    }
  }
  return failed === 0 ? 0 : 1;
}

/**
 * The function module, imported as the host loads it. Outside the host,
 * @azure/functions warns that it runs in test mode and skips registering each
 * function: true, and said once here instead.
 */
async function importFunctions(): Promise<{ requestDrains: Handler; drainMailbox: Handler }> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!/^WARNING: .*test mode/.test(String(args[0]))) warn(...args);
  };
  try {
    const module = await import('../functions/drainMailbox.js');
    console.log('(No Functions host here: this process plays its part, calling the functions\' handlers as it does.)\n');
    return { requestDrains: module.requestDrains as Handler, drainMailbox: (item, context) => module.drainMailbox(item, context) };
  } finally {
    console.warn = warn;
  }
}

/** One invocation, framed and logged as the host logs it; whether the handler resolved. */
async function invoke(functionName: string, reason: string, run: (context: Context) => Promise<void>): Promise<boolean> {
  const invocationId = randomUUID();
  const context = new InvocationContext({
    functionName,
    invocationId,
    logHandler: (level, ...args) => console.log(`  [${functionName}] ${level === 'information' ? '' : `${level}: `}${args.join(' ')}`),
  });
  const started = Date.now();
  console.log(`Executing 'Functions.${functionName}' (${reason}, Id=${invocationId})`);
  try {
    await run(context);
    console.log(`Executed 'Functions.${functionName}' (Succeeded, Duration=${Date.now() - started}ms)\n`);
    return true;
  } catch (error) {
    console.log(`Executed 'Functions.${functionName}' (Failed, Duration=${Date.now() - started}ms): ${(error as Error).message}\n`);
    return false;
  }
}

/** A queue message as the host hands it to the trigger: base64 decoded, JSON as an object. */
function decoded(messageText: string): unknown {
  const text = Buffer.from(messageText, 'base64').toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`The function host failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
