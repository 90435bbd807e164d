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
import { describe, DrainError, isDrainError } from '../errors/errors.js';
import { AttemptLedger } from './attemptLedger.js';
import { CredentialCache, platformCredential } from '../identity/credential.js';
import { failed, handOff, quarantineStream, quarantineUnreadable, type HandOffResult, type MailboxRef } from './handOff.js';
import { routeAzureSdkLogs, type Logger } from '../errors/logger.js';
import type { MailboxLease } from '../outbox/mailboxLease.js';
import { isRefusal, Mailbox, type FetchedBatch, type PendingMessage } from '../mailbox/mailbox.js';
import { Outbox } from '../outbox/outbox.js';
import { messageKey } from '../contract/queueMessage.js';
import type { Settings } from '../config/settings.js';

/** Messages fetched at once: bounds memory together with BATCH_BYTES. */
export const BATCH_SIZE = 25;
/** Bytes fetched at once; a single larger message still makes its own batch. */
export const BATCH_BYTES = 64 * 1024 * 1024;
/** Hand-offs in flight at once: enough to hide Storage latency, few enough to stay under its throttling. */
export const HANDOFF_CONCURRENCY = 4;
/**
 * Time kept back from the deadline to finish a step (fetch, hand off, settle):
 * a minute for the commands, plus a second per MiB the step moves, the floor
 * rate every Storage call is given (storageLimits.ts). A 64 MiB batch needs about
 * two minutes, a 150 MB message streamed to quarantine about three and a half.
 */
export const SETTLE_RESERVE_MS = 60_000;
const RESERVE_MS_PER_MIB = 1_000;
/**
 * Passing failures (Storage or the network down) of this many messages in a
 * row stop the drain: the rest would fail the same way. Fewer are one message's
 * bad luck, and never hold up the rest.
 */
export const STOP_AFTER_PASSING_FAILURES = 3;

export interface DrainOptions {
  /** Epoch ms by which the drain must be done (the function timeout); no new batch starts too close to it. */
  deadline?: number;
  now?: () => number;
  /** Credentials kept across runs by the entry point; without it, this run reads its own. */
  credentials?: CredentialCache;
}

export interface DrainReport {
  mailbox: string;
  folder: string;
  /** Another drain held the mailbox's lease: this one did nothing. */
  skipped: boolean;
  found: number;
  handedOff: { uid: number; id: string; subject: string | null; viaBlob: boolean }[];
  quarantined: { uid: number; id: string; reason: string; detail: string; rawBlobUrl: string | null }[];
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
  const app = await (options.credentials ?? new CredentialCache()).get(settings, logger);
  const outbox = Outbox.open(settings.output.storage, settings.output, () =>
    platformCredential(settings, settings.output.storage.kind === 'identity' ? settings.output.storage.clientId : undefined),
  );
  const report = emptyReport(settings, outbox);

  // The mailbox first: the lease and every id name the folder as the server spells it.
  const mailbox = await Mailbox.open(settings, (o) => app.mailboxToken(logger, o), logger);
  try {
    report.folder = mailbox.folder;
    // One drain per mailbox folder, whatever runs it: timer, CLI, a second app.
    const lease = await outbox.leaseMailbox(settings.mailbox, mailbox.folder, logger);
    if (!lease) {
      logger.info(`Another drain is working on ${settings.mailbox}/${mailbox.folder}; this run leaves it to that one.`);
      return { ...report, skipped: true };
    }
    try {
      const ledger = new AttemptLedger(lease.state);
      await drainFolder({ mailbox, lease, ledger, outbox, settings, logger, report, clock: { deadline: options.deadline, now } });
    } finally {
      await lease.release();
    }
  } finally {
    await mailbox.close();
  }
  logger.info(summaryLine(report));
  return report;
}

interface DrainContext {
  mailbox: Mailbox;
  lease: MailboxLease;
  ledger: AttemptLedger;
  outbox: Outbox;
  settings: Settings;
  logger: Logger;
  report: DrainReport;
  clock: { deadline?: number; now: () => number };
}

/** One step of the drain: some messages, and how to hand them off. */
interface Step {
  uids: number[];
  bytes: number;
  run: () => Promise<HandOffResult[]>;
}

async function drainFolder(ctx: DrainContext): Promise<void> {
  const { mailbox, lease, ledger, settings, logger, report } = ctx;
  const ref: MailboxRef = { mailbox: settings.mailbox, folder: mailbox.folder, uidValidity: mailbox.uidValidity, failedFolder: settings.failedFolder };
  const renumberedFrom = ledger.keyTo(ref.uidValidity);
  if (renumberedFrom !== undefined) warnRenumbered(renumberedFrom, ref.uidValidity, logger);

  const pending = await mailbox.pending();
  report.found = pending.length;
  const suspects = ledger.recoverFromDeath(new Set(pending.map((m) => m.uid)));
  if (suspects.size > 0) {
    logger.warn(`${suspects.size} message(s) were being handed off when the last drain ended without finishing (UIDs ${[...suspects].join(',')}); each is tried alone now.`);
  }
  logger.info(`Draining ${pending.length} message(s) from ${settings.mailbox}/${mailbox.folder}`);

  let passingFailures = 0;
  for (const step of plan(pending, suspects, ref, ctx)) {
    const stop = reasonToStop(lease, step, ctx.clock);
    if (stop) {
      stopEarly(report, stop, remaining(pending, report), logger);
      break;
    }
    let handedOffUnsettled = 0;
    try {
      const results = await step.run();
      record(report, results, logger);
      handedOffUnsettled = results.filter((r) => r.outcome !== 'failed').length;
      // Saved before the mailbox is touched: a message handed off is never counted against
      // again, whatever happens to the process before it is settled.
      ledger.settle(results);
      await lease.save();

      // Only now, with Storage's acknowledgement in hand, is the mailbox touched.
      await mailbox.settle(uidsOf(results, 'handedOff'));
      await mailbox.quarantine(uidsOf(results, 'quarantined'));

      for (const r of results) passingFailures = r.outcome === 'failed' && !r.own ? passingFailures + 1 : 0;
      if (passingFailures >= STOP_AFTER_PASSING_FAILURES) {
        // Storage is down: the rest would fail too. Leave them for the next run.
        stopEarly(report, `${STOP_AFTER_PASSING_FAILURES} hand-offs in a row failed for a passing reason`, remaining(pending, report), logger);
        break;
      }
    } catch (error) {
      // The mailbox went away mid-drain (throttled, cut off): end cleanly, the rest waits.
      if (!isDrainError(error)) throw error;
      ledger.abandon();
      // Handed off but not settled: the next run hands them off again under the same ids.
      const unsettled = handedOffUnsettled > 0 ? ` ${handedOffUnsettled} message(s) were handed off but not settled; the next run hands them off again under the same ids.` : '';
      stopEarly(report, `${error.explain()}${unsettled}`, remaining(pending, report), logger);
      await lease.save().catch(() => {});
      break;
    }
  }
}

/**
 * Recorded in the lease's state once the step's bytes are in hand and just
 * before they are parsed and handed off, the stretch where a message can kill
 * the process: a drain that dies there is counted against these UIDs. Not
 * before (a death while fetching is the network's or the host's), nor after
 * (settle() clears it before the mailbox is touched).
 */
async function markInFlight(uids: number[], ctx: DrainContext): Promise<void> {
  ctx.ledger.begin(uids);
  await ctx.lease.save();
}

/**
 * The steps, in order: messages that were in flight when a drain died, one at a
 * time (so that the one that kills the process is the only one counted again);
 * then messages too large to parse, streamed to quarantine one by one; then the
 * rest in batches bounded by count and bytes.
 */
function plan(pending: PendingMessage[], suspects: Set<number>, ref: MailboxRef, ctx: DrainContext): Step[] {
  const { settings } = ctx;
  const oversized = pending.filter((m) => m.size > settings.maxMessageBytes);
  const rest = pending.filter((m) => m.size <= settings.maxMessageBytes);
  const alone = rest.filter((m) => suspects.has(m.uid)).map((m) => [m]);
  const batches = inBatches(rest.filter((m) => !suspects.has(m.uid)));
  return [
    ...oversized.map((m) => ({ uids: [m.uid], bytes: m.size, run: () => quarantineOversized(m, ref, ctx) })),
    ...[...alone, ...batches].map((batch) => ({
      uids: batch.map((m) => m.uid),
      bytes: batch.reduce((n, m) => n + m.size, 0),
      run: () => handOffBatch(batch.map((m) => m.uid), ref, ctx),
    })),
  ];
}

function reasonToStop(lease: MailboxLease, step: Step, clock: { deadline?: number; now: () => number }): string | undefined {
  if (lease.lost) return 'the mailbox lease was lost';
  const reserve = SETTLE_RESERVE_MS + Math.ceil(step.bytes / (1024 * 1024)) * RESERVE_MS_PER_MIB;
  if (clock.deadline !== undefined && clock.now() > clock.deadline - reserve) {
    return 'the time budget is spent (the function timeout: host.json, or AzureFunctionsJobHost__functionTimeout)';
  }
  return undefined;
}

function stopEarly(report: DrainReport, reason: string, left: number, logger: Logger): void {
  report.stoppedBecause = reason;
  report.notAttempted = Math.max(0, left);
  logger.warn(`Stopping early: ${reason}. ${report.notAttempted} message(s) stay in the mailbox for the next run.`);
}

/** Messages found and not yet handed off, quarantined or failed in this run. */
function remaining(pending: PendingMessage[], report: DrainReport): number {
  return pending.length - report.handedOff.length - report.quarantined.length - report.failed.length;
}

async function quarantineOversized(message: PendingMessage, ref: MailboxRef, ctx: DrainContext): Promise<HandOffResult[]> {
  const { mailbox, outbox, settings } = ctx;
  const previous = ctx.ledger.attemptsOf(message.uid);
  if (previous >= settings.maxAttempts) {
    return [await quarantineUnreadable(message.uid, ref, outbox, `streaming it to quarantine failed ${previous} times (MAX_ATTEMPTS ${settings.maxAttempts})`)];
  }
  await markInFlight([message.uid], ctx);
  // Never throws: a failed stream or upload comes back as the message's failed result.
  return [await quarantineStream(message.uid, message.size, settings.maxMessageBytes, ref, outbox, (sink) => mailbox.stream(message.uid, message.size, sink))];
}

/**
 * Fetches a batch and hands off each message. A batch the server refuses to
 * FETCH is fetched again one UID at a time, so one message the server cannot
 * serve fails alone; its failures are counted, and after MAX_ATTEMPTS it is
 * quarantined, with its bytes when they can be had.
 */
async function handOffBatch(uids: number[], ref: MailboxRef, ctx: DrainContext): Promise<HandOffResult[]> {
  const { mailbox, outbox, ledger, settings, logger } = ctx;
  let fetched: FetchedBatch;
  try {
    fetched = await mailbox.fetch(uids);
  } catch (error) {
    fetched = await fetchOneByOne(uids, error, mailbox, logger);
  }
  await markInFlight(uids, ctx);
  const attempts = (uid: number) => ({ previous: ledger.attemptsOf(uid), max: settings.maxAttempts });
  const limit = pLimit(HANDOFF_CONCURRENCY);
  const handedOff = fetched.messages.map((message) => limit(() => handOff(message, ref, outbox, attempts(message.uid), logger)));
  const unreadable = fetched.missing.map((uid) => limit(() => notServed(uid, ref, outbox, attempts(uid), mailbox.folder)));
  return Promise.all([...handedOff, ...unreadable]);
}

/**
 * A batch FETCH failed: the server refused it (NO, BAD), or ended the session
 * over it (Dovecot answers a message it cannot read with BYE). Fetched one UID
 * at a time, the message at fault is the one that fails. A UID whose FETCH
 * ended the session is blamed only if the server answers again afterwards;
 * otherwise the server or the network is down, and the drain stops as for any
 * lost session.
 */
async function fetchOneByOne(uids: number[], error: unknown, mailbox: Mailbox, logger: Logger): Promise<FetchedBatch> {
  if (!isRefusal(error) && !isSessionLost(error)) throw error;
  if (uids.length > 1) logger.warn(`Fetching UIDs ${uids.join(',')} failed (${describe(error).split('\n')[0]}); fetching them one at a time.`);
  const fetched: FetchedBatch = { messages: [], missing: [] };
  let sessionLost = false;
  for (const uid of uids) {
    try {
      if (uids.length === 1) throw error;
      const one = await mailbox.fetch([uid]);
      fetched.messages.push(...one.messages);
      fetched.missing.push(...one.missing);
    } catch (e) {
      if (!isRefusal(e) && !isSessionLost(e)) throw e;
      sessionLost ||= !isRefusal(e);
      fetched.missing.push(uid);
    }
  }
  // Throws when the server does not answer now: then nothing here was any message's fault.
  if (sessionLost) await mailbox.noop();
  return fetched;
}

function isSessionLost(error: unknown): boolean {
  return isDrainError(error) && (error.code === 'IMAP_CONNECTION_LOST' || error.code === 'IMAP_UNREACHABLE' || error.code === 'IMAP_TOKEN_EXPIRED');
}

/** A requested message the server returned no bytes for. */
async function notServed(uid: number, ref: MailboxRef, outbox: Outbox, attempts: { previous: number; max: number }, folder: string): Promise<HandOffResult> {
  if (attempts.previous >= attempts.max) {
    return quarantineUnreadable(uid, ref, outbox, `the server returned no bytes for it ${attempts.previous} times (MAX_ATTEMPTS ${attempts.max})`);
  }
  const error = new DrainError(
    'IMAP_MESSAGE_UNREADABLE',
    `The server returned no body for UID ${uid} of ${folder}.`,
    { folder },
  );
  return failed(uid, messageKey(ref.mailbox, ref.folder, ref.uidValidity, uid), error);
}

/**
 * A new UIDVALIDITY means the server renumbered the folder: every message gets
 * a new id, so consumers may see a message they already have under a new id.
 */
function warnRenumbered(previous: number, uidValidity: number, logger: Logger): void {
  logger.warn(
    `UIDVALIDITY changed from ${previous} to ${uidValidity}: the server renumbered the folder. Messages still in it are handed off ` +
      'under new ids; a consumer may receive a message it already has, with a new id (compare messageId to spot it).',
  );
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
