/**
 * One drain of the mailbox, in the order of the product's promise: get the
 * credential, open the mailbox, take its lease, then step by step fetch, hand
 * off, and only then settle. A message leaves the mailbox only after its blobs
 * and its queue message are acknowledged by Storage, so nothing is ever lost;
 * one that cannot be handed off stays for the next run, and one that never can
 * (unparseable, too large, failing MAX_ATTEMPTS times) is quarantined with its
 * raw bytes, so that no message can block the rest.
 */
import { isDrainError } from '../errors/errors.js';
import type { Logger } from '../errors/logger.js';
import { CredentialCache } from '../identity/credential.js';
import { storageCredential } from '../identity/storageCredential.js';
import { Mailbox } from '../mailbox/mailbox.js';
import type { MailboxLease } from '../outbox/mailboxLease.js';
import { Outbox } from '../outbox/outbox.js';
import type { Settings } from '../config/settings.js';
import { AttemptLedger } from './attemptLedger.js';
import type { HandOffResult } from './handOff.js';
import { handOffStep, type StepContext } from './handOffStep.js';
import { plan, reserveFor } from './plan.js';
import { emptyReport, record, stopEarly, summaryLine, type DrainReport } from './report.js';

export { isComplete, summaryLine, type DrainReport } from './report.js';

/**
 * Passing failures (Storage or the network down) of this many messages in a
 * row stop the drain: the rest would fail the same way. Fewer are one message's
 * bad luck, and never hold up the rest.
 */
export const STOP_AFTER_PASSING_FAILURES = 3;

export interface DrainOptions {
  /** Epoch ms by which the drain must be done (the function timeout); no new step starts too close to it. */
  deadline?: number;
  now?: () => number;
  /** Credentials kept across runs by the entry point; without it, this run reads its own. */
  credentials?: CredentialCache;
}

export async function drain(settings: Settings, logger: Logger, options: DrainOptions = {}): Promise<DrainReport> {
  const app = await (options.credentials ?? new CredentialCache()).get(settings, logger);
  const outbox = Outbox.open(settings.output.storage, settings.output, () => storageCredential(settings));
  const mailbox = await Mailbox.open(settings, (o) => app.mailboxToken(logger, o), logger);
  // The lease and every id name the folder as the server spells it, so the mailbox is opened first.
  const report = emptyReport({ mailbox: settings.mailbox, folder: mailbox.folder, queueUrl: outbox.queueUrl, containerUrl: outbox.containerUrl });
  try {
    // One drain per mailbox folder, whatever runs it: timer, CLI, a second app.
    const lease = await outbox.leaseMailbox(settings.mailbox, mailbox.folder, logger);
    if (!lease) {
      logger.info(`Another drain is working on ${settings.mailbox}/${mailbox.folder}; this run leaves it to that one.`);
      return { ...report, skipped: true };
    }
    try {
      const ref = { mailbox: settings.mailbox, folder: mailbox.folder, uidValidity: mailbox.uidValidity, failedFolder: settings.failedFolder };
      const ctx = { mailbox, outbox, ledger: new AttemptLedger(lease), ref, maxAttempts: settings.maxAttempts, maxMessageBytes: settings.maxMessageBytes, logger };
      await drainFolder(ctx, lease, report, { deadline: options.deadline, now: options.now ?? Date.now });
    } finally {
      await lease.release();
    }
  } finally {
    await mailbox.close();
  }
  logger.info(summaryLine(report));
  return report;
}

async function drainFolder(ctx: StepContext, lease: MailboxLease, report: DrainReport, clock: { deadline?: number; now: () => number }): Promise<void> {
  const { mailbox, ledger, ref, logger } = ctx;
  const pending = await mailbox.pending();
  report.found = pending.length;
  const { suspects, renumberedFrom } = await ledger.recover(ref.uidValidity, new Set(pending.map((m) => m.uid)));
  if (renumberedFrom !== undefined) warnRenumbered(renumberedFrom, ref.uidValidity, logger);
  if (suspects.size > 0) {
    logger.warn(`${suspects.size} message(s) were being handed off when the last drain ended without finishing (UIDs ${[...suspects].join(',')}); each is tried alone now.`);
  }
  logger.info(`Draining ${pending.length} message(s) from ${ref.mailbox}/${ref.folder}`);

  let passingFailures = 0;
  for (const step of plan(pending, suspects, ctx.maxMessageBytes)) {
    if (lease.lost) return stopEarly(report, 'the mailbox lease was lost', logger);
    if (clock.deadline !== undefined && clock.now() > clock.deadline - reserveFor(step)) {
      return stopEarly(report, 'the time budget is spent (the function timeout: host.json, or AzureFunctionsJobHost__functionTimeout)', logger);
    }
    let results: HandOffResult[] = [];
    try {
      results = await handOffStep(step, ctx);
      record(report, results, logger);
      await ledger.settle(results);

      // Only now, with Storage's acknowledgement in hand, is the mailbox touched.
      await mailbox.settle(uidsOf(results, 'handedOff'));
      await mailbox.quarantine(uidsOf(results, 'quarantined'));
    } catch (error) {
      // The mailbox or Storage went away mid-step (throttled, cut off): end cleanly, the rest waits.
      if (!isDrainError(error)) throw error;
      await ledger.abandon();
      const unsettled = results.filter((r) => r.outcome !== 'failed').length;
      const note = unsettled > 0 ? ` ${unsettled} message(s) were handed off but not settled; the next run hands them off again under the same ids.` : '';
      return stopEarly(report, `${error.explain()}${note}`, logger);
    }

    for (const r of results) passingFailures = r.outcome === 'failed' && !r.own ? passingFailures + 1 : 0;
    if (passingFailures >= STOP_AFTER_PASSING_FAILURES) {
      // Storage is down: the rest would fail too. Leave them for the next run.
      return stopEarly(report, `${STOP_AFTER_PASSING_FAILURES} hand-offs in a row failed for a passing reason`, logger);
    }
  }
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

function uidsOf(results: HandOffResult[], outcome: HandOffResult['outcome']): number[] {
  return results.filter((r) => r.outcome === outcome).map((r) => r.uid);
}
