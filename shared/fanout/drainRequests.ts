/**
 * The fan-out: one drain request per mailbox folder on the control queue
 * (DRAIN_REQUESTS_QUEUE), drained by a queue-triggered function. The Functions
 * host runs requests in parallel and scales out instances for a long queue:
 * the distribution is the platform's. What keeps it to one drain per mailbox
 * folder, however many requests or instances, is the mailbox lease.
 *
 * A request the deployment cannot serve (malformed, a mailbox removed or
 * disabled since it was sent) and one for a mailbox another drain holds are
 * dropped with a log line: retrying them would only fill the poison queue.
 */
import { z } from 'zod';
import type { TokenCredential } from '@azure/identity';
import type { QueueClient } from '@azure/storage-queue';
import { explainStorageError } from '../errors/explain.js';
import { encodeForQueue } from '../contract/queueMessage.js';
import type { Logger } from '../errors/logger.js';
import { findMailbox, forMailbox, type MailboxTarget, type Settings } from '../config/settings.js';
import { storageClients } from '../outbox/outbox.js';
import { storageDeadline } from '../outbox/storageLimits.js';
import { storageCredential } from '../identity/storageCredential.js';

const requestSchema = z.object({
  mailbox: z.string().min(1),
  folder: z.string().min(1),
  /** schedule: the timer's; followUp: a drain that ran out of time asking for the rest. */
  reason: z.enum(['schedule', 'followUp']),
  requestedAt: z.string(),
});

export type DrainRequest = z.output<typeof requestSchema>;

/** A request waits at most this long for a worker before Storage drops it: the next tick sends another. */
const REQUEST_TTL_SECONDS = 24 * 60 * 60;

export function requestFor(target: Pick<MailboxTarget, 'mailbox' | 'folder'>, reason: DrainRequest['reason'], now = new Date()): DrainRequest {
  return { mailbox: target.mailbox, folder: target.folder, reason, requestedAt: now.toISOString() };
}

/**
 * What the queue trigger hands over, as a request: the host gives a JSON
 * message as an object, anything else as a string (base64 decoded or not).
 */
export function parseRequest(item: unknown): DrainRequest | undefined {
  let value = item;
  if (typeof value === 'string') {
    const text = value.trim().startsWith('{') ? value : Buffer.from(value, 'base64').toString('utf8');
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  const parsed = requestSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The control queue, in the output storage account. */
export class DrainRequests {
  private constructor(private readonly queue: QueueClient) {}

  static open(settings: Settings, credential: () => TokenCredential = () => storageCredential(settings)): DrainRequests {
    return new DrainRequests(storageClients(settings.output.storage, credential).queues.getQueueClient(settings.drainRequestsQueue));
  }

  get name(): string {
    return this.queue.name;
  }

  async send(request: DrainRequest): Promise<void> {
    try {
      // Base64, as the Functions queue trigger expects by default.
      await this.queue.sendMessage(encodeForQueue(request), {
        messageTimeToLive: REQUEST_TTL_SECONDS,
        abortSignal: storageDeadline(),
      });
    } catch (error) {
      throw explainStorageError(error, { queue: this.queue.name });
    }
  }
}

/** The timer's work: one request per enabled mailbox folder. Returns the targets requested. */
export async function requestDrains(settings: Settings, logger: Logger, requests = DrainRequests.open(settings)): Promise<MailboxTarget[]> {
  const enabled = settings.mailboxes.filter((t) => t.enabled);
  const skipped = settings.mailboxes.length - enabled.length;
  // Every send is tried: one failing (Storage down) must not keep the others from their drain.
  const sent = await Promise.allSettled(enabled.map((target) => requests.send(requestFor(target, 'schedule'))));
  const failed = sent.flatMap((r, i) => (r.status === 'rejected' ? [{ target: enabled[i]!, error: r.reason as unknown }] : []));
  logger.info(
    `Requested a drain of ${enabled.length - failed.length} mailbox folder(s) on ${requests.name}` +
      (skipped ? `; ${skipped} disabled in MAILBOXES` : '') +
      (failed.length ? `; ${failed.length} request(s) could not be sent` : ''),
  );
  if (failed.length) throw failed[0]!.error;
  return enabled;
}

export type RequestOutcome =
  | { outcome: 'dropped'; why: string }
  | { outcome: 'skipped' }
  | { outcome: 'drained'; complete: boolean; followUp: boolean };

/**
 * The queue trigger's work: drains the mailbox folder `item` names, and asks
 * again for it when the run's time budget ran out before the folder was empty.
 * `drainFolder` is the drain itself (drain.ts), passed in so that this module
 * stays cheap to import.
 */
export async function serveRequest(
  item: unknown,
  settings: Settings,
  logger: Logger,
  drainFolder: (settings: Settings) => Promise<{ skipped: boolean; stop?: { kind: string }; complete: boolean }>,
  requests = DrainRequests.open(settings),
): Promise<RequestOutcome> {
  const request = parseRequest(item);
  if (!request) {
    const why = 'the message is not a drain request ({"mailbox","folder","reason","requestedAt"})';
    logger.error(`Dropped a message on ${requests.name}: ${why}.`);
    return { outcome: 'dropped', why };
  }
  const target = findMailbox(settings, request.mailbox, request.folder);
  if (!target || !target.enabled) {
    const why = `${request.mailbox} folder "${request.folder}" is ${target ? 'disabled' : 'not'} in MAILBOXES`;
    logger.warn(`Dropped a drain request: ${why} (removed or disabled since the request was sent).`);
    return { outcome: 'dropped', why };
  }
  const report = await drainFolder(forMailbox(settings, target));
  if (report.skipped) return { outcome: 'skipped' };
  const followUp = report.stop?.kind === 'timeBudget';
  if (followUp) {
    await requests.send(requestFor(target, 'followUp'));
    logger.info(`The time budget ran out with mail left in ${target.mailbox}/${target.folder}: a follow-up drain is requested.`);
  }
  return { outcome: 'drained', complete: report.complete, followUp };
}
