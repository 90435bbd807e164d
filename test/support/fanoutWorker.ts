/**
 * A stand-in for one Functions instance serving the control queue: a process
 * of its own that receives one drain request at a time from
 * DRAIN_REQUESTS_QUEUE, hands it to the real queue trigger's handler
 * (functions/drainMailbox.ts, `drainMailbox`) as the host would (base64
 * decoded, JSON as an object), and deletes it when the invocation succeeds.
 * An invocation that throws is retried as the host retries it (the message
 * made visible again) and moved to `<queue>-poison` on its fifth dequeue.
 *
 * What it did is printed on stdout, one JSON object a line (FanoutEvent):
 * each invocation, and each mailbox lease its drains took (recorded by
 * wrapping MailboxLease.acquire in this process: the time the lease was
 * held, between Storage granting it and the drain releasing it) or were
 * refused. It stops when its stdin ends.
 *
 * Run as a script, this file is that process. Imported, it starts such
 * processes and follows them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { QueueServiceClient } from '@azure/storage-queue';
// CommonJS: Node's ESM loader does not see InvocationContext as a named export.
import functions from '@azure/functions';

const SELF = fileURLToPath(import.meta.url);
const POLL_MS = 100;
/** Longer than any drain here: a request in hand is never handed to a second worker by its visibility running out. */
const VISIBILITY_SECONDS = 600;
/** host.json's extensions.queues.maxDequeueCount. */
const MAX_DEQUEUE_COUNT = 5;

export type FanoutEvent =
  | { type: 'ready'; worker: string; pid: number }
  | { type: 'busy' | 'idle'; worker: string; at: number }
  | {
      type: 'invocation';
      worker: string;
      pid: number;
      /** The request as handed to the handler. */
      item: unknown;
      dequeueCount: number;
      startedAt: number;
      endedAt: number;
      /** What the handler threw, when it did (the host retries it). */
      threw?: string;
      /** The drain's summary, when it logged one. */
      summary?: { mailbox: string; folder: string; found: number; handedOff: number; quarantined: number; failed: number; left: number; stopped?: string };
      skipped: boolean;
      followUp: boolean;
      dropped: boolean;
      /** Warnings and errors the invocation logged. */
      problems: string[];
      /** What happened to the request message: deleted, made visible for a retry, or moved to the poison queue. */
      disposition: 'deleted' | 'retry' | 'poison';
      /** With FANOUT_WORKER_LOG=1 in the worker's environment: every line the invocation logged, with its time. */
      log?: { at: number; level: string; text: string }[];
    }
  | { type: 'lease'; worker: string; pid: number; mailbox: string; folder: string; leaseId: string; acquiredAt: number; releasingAt: number }
  | { type: 'leaseRefused'; worker: string; pid: number; mailbox: string; folder: string; at: number }
  | { type: 'fatal'; worker: string; error: string };

export type InvocationEvent = Extract<FanoutEvent, { type: 'invocation' }>;
export type LeaseEvent = Extract<FanoutEvent, { type: 'lease' }>;

export interface FanoutWorkers {
  events: FanoutEvent[];
  /**
   * Resolves once the control queue has stayed empty, and every worker idle,
   * for `quietMs`: no request left, none in a worker's hands.
   */
  untilQuiet(options?: { quietMs?: number; timeoutMs?: number }): Promise<void>;
  /** Ends the workers (stdin closed: each finishes its invocation and exits) and waits for them. */
  stop(): Promise<void>;
  /** The tail of every worker's stderr, for assertion messages. */
  stderr(): string;
}

/**
 * Starts `count` workers with exactly `env` (plus PATH) as their environment,
 * and resolves once each has loaded the handler and the drain and is polling.
 */
export async function startFanoutWorkers(count: number, env: Record<string, string>): Promise<FanoutWorkers> {
  const events: FanoutEvent[] = [];
  const state = new Map<string, 'busy' | 'idle'>();
  const stderrTails = new Map<string, string>();
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 1; i <= count; i++) {
    const worker = `worker-${i}`;
    const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
      env: { PATH: process.env.PATH ?? '', ...env, FANOUT_WORKER: worker },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(child);
    state.set(worker, 'busy');
    child.stderr!.on('data', (chunk: Buffer) => stderrTails.set(worker, `${stderrTails.get(worker) ?? ''}${chunk.toString('utf8')}`.slice(-4000)));
    ready.push(
      new Promise((resolve, reject) => {
        child.on('exit', (code) => reject(new Error(`${worker} exited (${code}) before it was ready: ${stderrTails.get(worker) ?? ''}`)));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          let event: FanoutEvent;
          try {
            event = JSON.parse(line) as FanoutEvent;
          } catch {
            return; // not ours (a stray console.log)
          }
          events.push(event);
          if (event.type === 'ready') resolve();
          if (event.type === 'busy' || event.type === 'idle') state.set(worker, event.type);
          if (event.type === 'fatal') reject(new Error(`${worker}: ${event.error}`));
        });
      }),
    );
  }
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.stdin!.end();
        const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(kill);
      }),
    );
  };
  try {
    await Promise.all(ready);
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    throw error;
  }
  const queue = QueueServiceClient.fromConnectionString(env.OUTPUT_STORAGE!).getQueueClient(env.DRAIN_REQUESTS_QUEUE!);
  const stderr = () => [...stderrTails].map(([worker, tail]) => `--- ${worker}\n${tail}`).join('\n');
  return {
    events,
    stderr,
    stop,
    async untilQuiet({ quietMs = 1_000, timeoutMs = 120_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      let quietSince: number | undefined;
      for (;;) {
        const fatal = events.find((e) => e.type === 'fatal');
        if (fatal) throw new Error(`a worker failed: ${JSON.stringify(fatal)}`);
        const exited = children.find((c) => c.exitCode !== null || c.signalCode !== null);
        if (exited) throw new Error(`a worker exited (${exited.exitCode ?? exited.signalCode}):\n${stderr()}`);
        // Only workers' hands hold an invisible request (a retry is made visible at once): idle workers and an empty peek mean none left.
        const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 1 });
        const quiet = peekedMessageItems.length === 0 && [...state.values()].every((s) => s === 'idle');
        if (!quiet) quietSince = undefined;
        else if (quietSince === undefined) quietSince = Date.now();
        else if (Date.now() - quietSince >= quietMs) return;
        if (Date.now() > deadline) throw new Error(`the control queue was not drained within ${timeoutMs} ms:\n${stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
  };
}

const SUMMARY = /Drain of (\S+)\/(.+?): (\d+) found, (\d+) handed off, (\d+) quarantined, (\d+) failed, (\d+) left for the next run(?: \(stopped: ([^)]*))?/;

async function main(): Promise<void> {
  const worker = process.env.FANOUT_WORKER ?? `worker-${process.pid}`;
  const emit = (event: FanoutEvent) => process.stdout.write(`${JSON.stringify(event)}\n`);
  let stopping = false;
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => (stopping = true));

  const { MailboxLease } = await import('../../shared/outbox/mailboxLease.js');
  const { drainMailbox } = await import('../../functions/drainMailbox.js');
  // Loaded now, not by the first invocation: the figures measure draining, not module loading.
  await Promise.all([import('../../shared/drain/drain.js'), import('../../shared/identity/credential.js'), import('../../shared/fanout/drainRequests.js')]);

  // The leases this process's drains take, as Storage granted them.
  const acquire = MailboxLease.acquire.bind(MailboxLease);
  MailboxLease.acquire = async (container, mailbox, folder, logger) => {
    const lease = await acquire(container, mailbox, folder, logger);
    if (!lease) {
      emit({ type: 'leaseRefused', worker, pid: process.pid, mailbox, folder, at: Date.now() });
      return lease;
    }
    const acquiredAt = Date.now();
    const leaseId = (lease as unknown as { lease: { leaseId: string } }).lease.leaseId;
    const release = lease.release.bind(lease);
    lease.release = async () => {
      // Still held until this release reaches Storage: the interval recorded lies inside the lease's.
      emit({ type: 'lease', worker, pid: process.pid, mailbox, folder, leaseId, acquiredAt, releasingAt: Date.now() });
      await release();
    };
    return lease;
  };

  const { OUTPUT_STORAGE, DRAIN_REQUESTS_QUEUE } = process.env;
  const queues = QueueServiceClient.fromConnectionString(OUTPUT_STORAGE!);
  const queue = queues.getQueueClient(DRAIN_REQUESTS_QUEUE!);
  const poison = queues.getQueueClient(`${DRAIN_REQUESTS_QUEUE}-poison`);
  emit({ type: 'ready', worker, pid: process.pid });

  let busy = true;
  const setBusy = (now: boolean) => {
    if (now !== busy) emit({ type: now ? 'busy' : 'idle', worker, at: Date.now() });
    busy = now;
  };
  while (!stopping) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: VISIBILITY_SECONDS });
    const message = receivedMessageItems[0];
    if (!message) {
      setBusy(false);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      continue;
    }
    setBusy(true);
    // As the host binds a queue message to a JavaScript trigger: base64 decoded, JSON parsed when it is JSON.
    const text = Buffer.from(message.messageText, 'base64').toString('utf8');
    let item: unknown = text;
    try {
      item = JSON.parse(text);
    } catch {
      // a string, then
    }
    const lines: { at: number; level: string; text: string }[] = [];
    const context = new functions.InvocationContext({
      functionName: 'drainMailbox',
      invocationId: randomUUID(),
      logHandler: (level, ...args) => lines.push({ at: Date.now(), level, text: args.join(' ') }),
      triggerMetadata: { dequeueCount: message.dequeueCount, id: message.messageId },
    });
    const startedAt = Date.now();
    let threw: string | undefined;
    try {
      await drainMailbox(item, context);
    } catch (error) {
      threw = error instanceof Error ? (error.stack ?? error.message) : String(error);
    }
    const endedAt = Date.now();
    let disposition: InvocationEvent['disposition'] = 'deleted';
    if (threw === undefined) await queue.deleteMessage(message.messageId, message.popReceipt);
    else if (message.dequeueCount >= MAX_DEQUEUE_COUNT) {
      await poison.sendMessage(message.messageText);
      await queue.deleteMessage(message.messageId, message.popReceipt);
      disposition = 'poison';
    } else {
      await queue.updateMessage(message.messageId, message.popReceipt, undefined, 0);
      disposition = 'retry';
    }
    const match = lines.map((l) => SUMMARY.exec(l.text)).find((m) => m !== null);
    const all = lines.map((l) => l.text).join('\n');
    emit({
      type: 'invocation',
      worker,
      pid: process.pid,
      item,
      dequeueCount: message.dequeueCount,
      startedAt,
      endedAt,
      threw,
      summary: match
        ? {
            mailbox: match[1]!,
            folder: match[2]!,
            found: Number(match[3]),
            handedOff: Number(match[4]),
            quarantined: Number(match[5]),
            failed: Number(match[6]),
            left: Number(match[7]),
            stopped: match[8],
          }
        : undefined,
      skipped: /Another drain is working on/.test(all),
      followUp: /a follow-up drain is requested/.test(all),
      dropped: /Dropped a (drain request|message)/.test(all),
      problems: lines.filter((l) => l.level === 'warning' || l.level === 'error').map((l) => `${l.level}: ${l.text}`),
      disposition,
      log: process.env.FANOUT_WORKER_LOG === '1' ? lines : undefined,
    });
  }
}

if (process.argv[1] === SELF) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stdout.write(`${JSON.stringify({ type: 'fatal', worker: process.env.FANOUT_WORKER, error: error instanceof Error ? (error.stack ?? error.message) : String(error) })}\n`);
      process.exit(1);
    },
  );
}
