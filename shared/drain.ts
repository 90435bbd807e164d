/**
 * One drain of the mailbox, in the order of the product's promise: get the
 * credential, get a token, open the mailbox, then batch by batch parse and hand
 * off, and only then settle the mailbox. A message leaves the mailbox only after
 * its blobs and its queue message are acknowledged by Storage, so nothing is
 * ever lost; a message that cannot be handed off stays for the next run.
 */
import pLimit from 'p-limit';
import { describe } from './errors.js';
import { appCredential, platformCredential } from './credential.js';
import { handOff, type HandOffResult, type MailboxRef } from './handOff.js';
import { routeAzureSdkLogs, type Logger } from './logger.js';
import { Mailbox, type PendingMessage } from './mailbox.js';
import { Outbox } from './outbox.js';
import type { Settings } from './settings.js';

/** Messages fetched at once: bounds memory together with BATCH_BYTES. */
export const BATCH_SIZE = 25;
/** Bytes fetched at once; a single larger message still makes its own batch. */
export const BATCH_BYTES = 64 * 1024 * 1024;
/** Hand-offs in flight at once: enough to hide Storage latency, few enough to stay under its throttling. */
export const HANDOFF_CONCURRENCY = 4;

export interface DrainReport {
  mailbox: string;
  folder: string;
  found: number;
  handedOff: { uid: number; id: string; subject: string | null; viaBlob: boolean }[];
  quarantined: { uid: number; id: string; reason: string; rawBlobUrl: string }[];
  failed: { uid: number; id: string; error: string }[];
  /** Messages not attempted because the drain stopped early. */
  notAttempted: number;
  queueUrl: string;
  containerUrl: string;
}

/** True when every message found was handed off or quarantined. */
export function isComplete(report: DrainReport): boolean {
  return report.failed.length === 0 && report.notAttempted === 0;
}

export async function drain(settings: Settings, logger: Logger): Promise<DrainReport> {
  routeAzureSdkLogs(logger, settings.logLevel);
  const app = await appCredential(settings, logger);
  const outbox = Outbox.open(settings.output.storage, settings.output, () =>
    platformCredential(settings, settings.output.storage.kind === 'identity' ? settings.output.storage.clientId : undefined),
  );
  const mailbox = await Mailbox.open(settings, (options) => app.mailboxToken(logger, options), logger);

  const report: DrainReport = {
    mailbox: settings.mailbox,
    folder: settings.folder,
    found: 0,
    handedOff: [],
    quarantined: [],
    failed: [],
    notAttempted: 0,
    queueUrl: outbox.queueUrl,
    containerUrl: outbox.containerUrl,
  };
  try {
    const pending = await mailbox.pending();
    report.found = pending.length;
    logger.info(`Draining ${pending.length} message(s) from ${settings.mailbox}/${settings.folder}`);
    const ref: MailboxRef = { mailbox: settings.mailbox, folder: settings.folder, uidValidity: mailbox.uidValidity };

    const batches = inBatches(pending);
    for (const [index, batch] of batches.entries()) {
      const messages = await mailbox.fetch(batch.map((m) => m.uid));
      const results = await handOffAll(messages, ref, outbox);
      record(report, results, logger);

      // Only now, with Storage's acknowledgement in hand, is the mailbox touched.
      await mailbox.settle(uidsOf(results, 'handedOff'));
      await mailbox.quarantine(uidsOf(results, 'quarantined'));

      if (results.some((r) => r.outcome === 'failed')) {
        // Storage is failing; the rest would fail too. Leave them for the next run.
        report.notAttempted = batches.slice(index + 1).reduce((n, b) => n + b.length, 0);
        break;
      }
    }
  } finally {
    await mailbox.close();
  }
  logger.info(summaryLine(report));
  return report;
}

async function handOffAll(messages: Parameters<typeof handOff>[0][], ref: MailboxRef, outbox: Outbox): Promise<HandOffResult[]> {
  const limit = pLimit(HANDOFF_CONCURRENCY);
  return Promise.all(messages.map((message) => limit(() => handOff(message, ref, outbox))));
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

function record(report: DrainReport, results: HandOffResult[], logger: Logger): void {
  for (const r of results) {
    switch (r.outcome) {
      case 'handedOff':
        report.handedOff.push({ uid: r.uid, id: r.message.id, subject: r.message.subject, viaBlob: r.viaBlob });
        logger.debug(`Handed off UID ${r.uid} as ${r.message.id}${r.viaBlob ? ' (payload in blob)' : ''}`);
        break;
      case 'quarantined':
        report.quarantined.push({ uid: r.uid, id: r.id, reason: r.reason, rawBlobUrl: r.rawBlobUrl });
        logger.warn(`Quarantined UID ${r.uid} (${r.id}): ${r.reason}; raw message kept at ${r.rawBlobUrl}`);
        break;
      case 'failed':
        report.failed.push({ uid: r.uid, id: r.id, error: describe(r.error) });
        logger.error(`Could not hand off UID ${r.uid}; it stays in the mailbox for the next run. ${describe(r.error)}`);
        break;
    }
  }
}

export function summaryLine(report: DrainReport): string {
  return (
    `Drain of ${report.mailbox}/${report.folder}: ${report.found} found, ${report.handedOff.length} handed off, ` +
    `${report.quarantined.length} quarantined, ${report.failed.length} failed, ${report.notAttempted} left for the next run`
  );
}
