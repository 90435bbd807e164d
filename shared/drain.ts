/**
 * One drain of the mailbox, in the order of the product's promise: get the
 * credential, take the mailbox's lease, open the mailbox, then batch by batch
 * hand off and only then settle. A message leaves the mailbox only after its
 * blobs and its queue message are acknowledged by Storage, so nothing is ever
 * lost; one that cannot be handed off stays for the next run, and one that
 * never can (unparseable, too large, failing MAX_ATTEMPTS times) is quarantined
 * with its raw bytes, so that no message can block the rest.
 */
import pLimit from 'p-limit';
import { describe, isDrainError } from './errors.js';
import { appCredential, platformCredential } from './credential.js';
import { handOff, quarantineStream, type HandOffResult, type MailboxRef } from './handOff.js';
import { routeAzureSdkLogs, type Logger } from './logger.js';
import type { MailboxLease } from './mailboxLease.js';
import { Mailbox, type FetchedMessage, type PendingMessage } from './mailbox.js';
import { Outbox } from './outbox.js';
import type { Settings } from './settings.js';

/** Messages fetched at once: bounds memory together with BATCH_BYTES. */
export const BATCH_SIZE = 25;
/** Bytes fetched at once; a single larger message still makes its own batch. */
export const BATCH_BYTES = 64 * 1024 * 1024;
/** Hand-offs in flight at once: enough to hide Storage latency, few enough to stay under its throttling. */
export const HANDOFF_CONCURRENCY = 4;
/** Time kept back from the deadline to finish a batch's hand-off and settle it. */
export const SETTLE_RESERVE_MS = 90_000;

export interface DrainOptions {
  /** Epoch ms by which the drain must be done (the function timeout); no new batch starts too close to it. */
  deadline?: number;
  now?: () => number;
}

export interface DrainReport {
  mailbox: string;
  folder: string;
  /** Another drain held the mailbox's lease: this one did nothing. */
  skipped: boolean;
  found: number;
  handedOff: { uid: number; id: string; subject: string | null; viaBlob: boolean }[];
  quarantined: { uid: number; id: string; reason: string; detail: string; rawBlobUrl: string }[];
  failed: { uid: number; id: string; error: string }[];
  /** Messages not attempted because the drain stopped early; they stay for the next run. */
  notAttempted: number;
  /** Why the drain stopped early, when it did. */
  stoppedBecause?: string;
  queueUrl: string;
  containerUrl: string;
}

/** True when every message found was handed off or quarantined (or another drain had the mailbox). */
export function isComplete(report: DrainReport): boolean {
  return report.failed.length === 0 && report.notAttempted === 0 && !report.stoppedBecause;
}

export async function drain(settings: Settings, logger: Logger, options: DrainOptions = {}): Promise<DrainReport> {
  const now = options.now ?? Date.now;
  routeAzureSdkLogs(logger, settings.logLevel);
  const app = await appCredential(settings, logger);
  const outbox = Outbox.open(settings.output.storage, settings.output, () =>
    platformCredential(settings, settings.output.storage.kind === 'identity' ? settings.output.storage.clientId : undefined),
  );
  const report = emptyReport(settings, outbox);

  // One drain per mailbox folder, whatever runs it: timer, CLI, a second app.
  const lease = await outbox.leaseMailbox(settings.mailbox, settings.folder, logger);
  if (!lease) {
    logger.info(`Another drain is working on ${settings.mailbox}/${settings.folder}; this run leaves it to that one.`);
    return { ...report, skipped: true };
  }
  try {
    const mailbox = await Mailbox.open(settings, (o) => app.mailboxToken(logger, o), logger);
    try {
      await drainFolder(mailbox, lease, outbox, settings, logger, report, { deadline: options.deadline, now });
    } finally {
      await mailbox.close();
    }
  } finally {
    await lease.release();
  }
  logger.info(summaryLine(report));
  return report;
}

async function drainFolder(
  mailbox: Mailbox,
  lease: MailboxLease,
  outbox: Outbox,
  settings: Settings,
  logger: Logger,
  report: DrainReport,
  clock: { deadline?: number; now: () => number },
): Promise<void> {
  const ref: MailboxRef = { mailbox: settings.mailbox, folder: settings.folder, uidValidity: mailbox.uidValidity, failedFolder: settings.failedFolder };
  rememberUidValidity(lease, ref.uidValidity, logger);

  const pending = await mailbox.pending();
  report.found = pending.length;
  logger.info(`Draining ${pending.length} message(s) from ${settings.mailbox}/${settings.folder}`);

  const oversized = pending.filter((m) => m.size > settings.maxMessageBytes);
  const batches = inBatches(pending.filter((m) => m.size <= settings.maxMessageBytes));
  const work: (() => Promise<HandOffResult[]>)[] = [
    ...oversized.map((m) => () => quarantineOversized(m, mailbox, ref, outbox, settings)),
    ...batches.map((batch) => async () => {
      const messages = await mailbox.fetch(batch.map((m) => m.uid));
      return handOffAll(messages, ref, outbox, lease, settings.maxAttempts);
    }),
  ];
  const sizes = [...oversized.map(() => 1), ...batches.map((b) => b.length)];

  for (const [index, step] of work.entries()) {
    const stop = reasonToStop(lease, clock);
    if (stop) {
      stopEarly(report, stop, sizes.slice(index), logger);
      break;
    }
    let handedOffUnsettled = 0;
    try {
      const results = await step();
      record(report, results, logger);
      countFailures(lease, results);
      handedOffUnsettled = results.filter((r) => r.outcome !== 'failed').length;

      // Only now, with Storage's acknowledgement in hand, is the mailbox touched.
      await mailbox.settle(uidsOf(results, 'handedOff'));
      await mailbox.quarantine(uidsOf(results, 'quarantined'));
      forgetSettled(lease, results);
      await lease.save();

      if (results.length > 0 && results.every((r) => r.outcome === 'failed')) {
        // Not one message got through: Storage is down, the rest would fail too. Leave them
        // for the next run. (Failures of single messages do not stop the drain: MAX_ATTEMPTS
        // quarantines those.)
        stopEarly(report, 'every hand-off of a batch failed', sizes.slice(index + 1), logger);
        break;
      }
    } catch (error) {
      // The mailbox went away mid-drain (throttled, cut off): end cleanly, the rest waits.
      if (!isDrainError(error)) throw error;
      // Handed off but not settled: the next run hands them off again under the same ids.
      const unsettled = handedOffUnsettled > 0 ? ` ${handedOffUnsettled} message(s) were handed off but not settled; the next run hands them off again under the same ids.` : '';
      stopEarly(report, `${error.explain()}${unsettled}`, sizes.slice(handedOffUnsettled > 0 ? index + 1 : index), logger);
      await lease.save().catch(() => {});
      break;
    }
  }
}

function reasonToStop(lease: MailboxLease, clock: { deadline?: number; now: () => number }): string | undefined {
  if (lease.lost) return 'the mailbox lease was lost';
  if (clock.deadline !== undefined && clock.now() > clock.deadline - SETTLE_RESERVE_MS) {
    return 'the time budget is spent (function timeout in host.json)';
  }
  return undefined;
}

function stopEarly(report: DrainReport, reason: string, remaining: number[], logger: Logger): void {
  report.stoppedBecause = reason;
  report.notAttempted += remaining.reduce((n, size) => n + size, 0);
  logger.warn(`Stopping early: ${reason}. ${report.notAttempted} message(s) stay in the mailbox for the next run.`);
}

async function quarantineOversized(message: PendingMessage, mailbox: Mailbox, ref: MailboxRef, outbox: Outbox, settings: Settings) {
  return [await quarantineStream(message.uid, message.size, settings.maxMessageBytes, ref, outbox, (sink) => mailbox.stream(message.uid, sink))];
}

async function handOffAll(messages: FetchedMessage[], ref: MailboxRef, outbox: Outbox, lease: MailboxLease, maxAttempts: number): Promise<HandOffResult[]> {
  const limit = pLimit(HANDOFF_CONCURRENCY);
  return Promise.all(
    messages.map((message) =>
      limit(() => handOff(message, ref, outbox, { previous: lease.state.attempts[message.uid] ?? 0, max: maxAttempts })),
    ),
  );
}

/**
 * A new UIDVALIDITY means the server renumbered the folder: every message gets
 * a new id, so consumers may see a message they already have under a new id.
 */
function rememberUidValidity(lease: MailboxLease, uidValidity: number, logger: Logger): void {
  const previous = lease.state.uidValidity;
  if (previous !== undefined && previous !== uidValidity) {
    logger.warn(
      `UIDVALIDITY changed from ${previous} to ${uidValidity}: the server renumbered the folder. Messages still in it are handed off ` +
        'under new ids; a consumer may receive a message it already has, with a new id (compare messageId to spot it).',
    );
    lease.state.attempts = {};
  }
  lease.state.uidValidity = uidValidity;
}

function countFailures(lease: MailboxLease, results: HandOffResult[]): void {
  for (const r of results) if (r.outcome === 'failed') lease.state.attempts[r.uid] = (lease.state.attempts[r.uid] ?? 0) + 1;
}

function forgetSettled(lease: MailboxLease, results: HandOffResult[]): void {
  for (const r of results) if (r.outcome !== 'failed') delete lease.state.attempts[r.uid];
}

/** Splits pending messages into batches bounded by count and bytes, keeping UID order. */
export function inBatches(pending: PendingMessage[], maxCount = BATCH_SIZE, maxBytes = BATCH_BYTES): PendingMessage[][] {
  const batches: PendingMessage[][] = [];
  let current: PendingMessage[] = [];
  let bytes = 0;
  for (const message of pending) {
    if (current.length > 0 && (current.length >= maxCount || bytes + message.size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += message.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function uidsOf(results: HandOffResult[], outcome: HandOffResult['outcome']): number[] {
  return results.filter((r) => r.outcome === outcome).map((r) => r.uid);
}

function emptyReport(settings: Settings, outbox: Outbox): DrainReport {
  return {
    mailbox: settings.mailbox,
    folder: settings.folder,
    skipped: false,
    found: 0,
    handedOff: [],
    quarantined: [],
    failed: [],
    notAttempted: 0,
    queueUrl: outbox.queueUrl,
    containerUrl: outbox.containerUrl,
  };
}

function record(report: DrainReport, results: HandOffResult[], logger: Logger): void {
  for (const r of results) {
    switch (r.outcome) {
      case 'handedOff':
        report.handedOff.push({ uid: r.uid, id: r.message.id, subject: r.message.subject, viaBlob: r.viaBlob });
        logger.debug(`Handed off UID ${r.uid} as ${r.message.id}${r.viaBlob ? ' (payload in blob)' : ''}`);
        break;
      case 'quarantined':
        report.quarantined.push({ uid: r.uid, id: r.id, reason: r.reason, detail: r.detail, rawBlobUrl: r.rawBlobUrl });
        logger.warn(`Quarantined UID ${r.uid} (${r.id}), ${r.reason}: ${r.detail}; raw message kept at ${r.rawBlobUrl}`);
        break;
      case 'failed':
        report.failed.push({ uid: r.uid, id: r.id, error: describe(r.error) });
        logger.error(`Could not hand off UID ${r.uid}; it stays in the mailbox for the next run. ${describe(r.error)}`);
        break;
    }
  }
}

export function summaryLine(report: DrainReport): string {
  if (report.skipped) return `Drain of ${report.mailbox}/${report.folder}: skipped, another drain holds the mailbox`;
  return (
    `Drain of ${report.mailbox}/${report.folder}: ${report.found} found, ${report.handedOff.length} handed off, ` +
    `${report.quarantined.length} quarantined, ${report.failed.length} failed, ${report.notAttempted} left for the next run` +
    (report.stoppedBecause ? ` (stopped: ${report.stoppedBecause.split('\n')[0]})` : '')
  );
}
