/**
 * One drain of the mailbox, in the order of the product's promise: get the
 * credential, open the mailbox, take its lease, then step by step fetch, hand
 * off, and only then settle. A message leaves the mailbox only after its blobs
 * and its queue message are acknowledged by Storage, so nothing is ever lost;
 * one that cannot be handed off stays for the next run, and one that never can
 * (unparseable, too large, failing MAX_ATTEMPTS times) is quarantined with its
 * raw bytes, so that no message can block the rest.
 */
import pLimit from 'p-limit';
import type { Logger } from '../errors/logger.js';
import { CredentialCache } from '../identity/credential.js';
import { storageCredential } from '../identity/storageCredential.js';
import { Mailbox, type PendingMessage } from '../mailbox/mailbox.js';
import { Outbox } from '../outbox/outbox.js';
import type { Settings } from '../config/settings.js';
import { AttemptLedger } from './attemptLedger.js';
import type { HandOffResult } from './handOff.js';
import { fetchStep, handOffStep, type FetchedStep, type StepContext } from './handOffStep.js';
import { Pipeline } from './pipeline.js';
import { memoryOf, plan } from './plan.js';
import { emptyReport, record, summaryLine, type DrainReport } from './report.js';
import { StopRules } from './stopRules.js';
import { failedRun, recordRun, runOf } from './runStatus.js';
import type { RunStatus } from '../outbox/mailboxStatus.js';
import { emitRunMetrics } from '../metrics/runMetrics.js';
import type { FinishedRun } from '../metrics/runMeasurements.js';

export { isComplete, summaryLine, type DrainReport } from './report.js';

/**
 * Hand-offs in flight at once, across the steps in flight: each is a few
 * Storage round trips one after another (raw, attachments, queue message), so
 * this many keep about twice as many requests in flight, enough to hide
 * Storage's latency, few enough to stay under its throttling.
 */
export const HANDOFF_CONCURRENCY = 16;
/**
 * Steps in flight at once: one being fetched while others are handed off and
 * settled. Bytes in flight are bounded too (a step holds its messages in
 * memory until they are handed off); one step always runs, however large.
 */
export const STEPS_IN_FLIGHT = 3;
export const BYTES_IN_FLIGHT = 64 * 1024 * 1024;

export interface DrainOptions {
  /** Epoch ms by which the drain must be done (the function timeout); no new step starts too close to it. */
  deadline?: number;
  now?: () => number;
  /** Credentials kept across runs by the entry point; without it, this run reads its own. */
  credentials?: CredentialCache;
}

/**
 * Drains one mailbox folder (the settings' `mailbox` and `folder`), and writes
 * what the run did to the folder's status (mailboxStatus.ts) as it ends, a
 * failed run included; a run that found another drain at work writes nothing.
 * A run that held the lease writes it before releasing the lease, so that the
 * next drain's status always lands after this one's. Every run that writes a
 * status emits its metrics (shared/metrics/), flushed before this returns: the
 * Functions path and the command line both come through here.
 */
export async function drain(settings: Settings, logger: Logger, options: DrainOptions = {}): Promise<DrainReport> {
  const startedAt = new Date();
  const outbox = Outbox.open(settings.output.storage, settings.output, () => storageCredential(settings));
  const run: RunFacts = { mailbox: settings.mailbox, folder: settings.folder, startedAt, failed: 0, throttledMs: 0 };
  const writeStatus = async (status: RunStatus) => {
    run.status = status;
    await recordRun(outbox, settings, status, logger);
  };
  try {
    return await drainWith(outbox, settings, logger, options, run, writeStatus);
  } catch (error) {
    if (!run.status) await writeStatus(failedRun(error, startedAt));
    throw error;
  } finally {
    // Flushed before the caller goes on: Flex Consumption may freeze the instance once the invocation returns.
    if (run.status) await emitRunMetrics(settings, { ...run, status: run.status }, logger);
  }
}

/** What the run's metrics need (FinishedRun), filled in as the drain gets there; the status last. */
type RunFacts = Omit<FinishedRun, 'status'> & { startedAt: Date; status?: RunStatus };

async function drainWith(
  outbox: Outbox,
  settings: Settings,
  logger: Logger,
  options: DrainOptions,
  run: RunFacts,
  writeStatus: (status: RunStatus) => Promise<void>,
): Promise<DrainReport> {
  const app = await (options.credentials ?? new CredentialCache()).get(settings, logger);
  run.credentialExpiresOn = app.expiresOn;
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
      const stop = new StopRules(lease, { deadline: options.deadline, now: options.now ?? Date.now });
      const ref = { mailbox: settings.mailbox, folder: mailbox.folder, uidValidity: mailbox.uidValidity, failedFolder: settings.failedFolder };
      const ctx: StepContext = {
        gate: stop,
        mailbox,
        outbox,
        ledger: new AttemptLedger(lease),
        handOffs: pLimit(HANDOFF_CONCURRENCY),
        ref,
        maxAttempts: settings.maxAttempts,
        maxMessageBytes: settings.maxMessageBytes,
        logger,
      };
      try {
        await drainFolder(ctx, stop, report);
      } catch (error) {
        await writeStatus(failedRun(error, run.startedAt));
        throw error;
      } finally {
        report.throttledMs = run.throttledMs = mailbox.throttledMs;
        run.failed = report.failed.length;
      }
      await writeStatus(runOf(report, run.startedAt));
    } finally {
      await lease.release();
    }
  } finally {
    await mailbox.close();
  }
  logger.info(summaryLine(report));
  return report;
}

async function drainFolder(ctx: StepContext, stop: StopRules, report: DrainReport): Promise<void> {
  const { mailbox, ledger, ref, logger } = ctx;
  const pending = await mailbox.pending();
  report.found = pending.length;
  const { suspects, renumberedFrom } = await ledger.recover(ref.uidValidity, new Set(pending.map((m) => m.uid)));
  if (renumberedFrom !== undefined) warnRenumbered(renumberedFrom, ref.uidValidity, logger);
  if (suspects.size > 0) {
    logger.warn(
      `${suspects.size} message(s) were being handed off when a drain ended without finishing (UIDs ${[...suspects].join(',')}); ` +
        'each is tried alone now, and a drain that dies then is counted against it.',
    );
  }
  logger.info(`Draining ${pending.length} message(s) from ${ref.mailbox}/${ref.folder}`);

  const pipeline = new Pipeline(STEPS_IN_FLIGHT, BYTES_IN_FLIGHT);
  for (const step of plan(pending, suspects, ctx.maxMessageBytes)) {
    if (step.alone) await pipeline.idle();
    await pipeline.room(memoryOf(step));
    if (stop.before(step)) break;
    try {
      const fetched = await fetchStep(step, ctx);
      pipeline.start(memoryOf(step), () => finishStep(fetched, ctx, report, stop), (error) => stop.failed(error));
    } catch (error) {
      stop.failed(error);
    }
    if (step.alone) await pipeline.idle();
  }
  await pipeline.idle();
  stop.end(report, logger);
  report.oldestLeft = oldestLeft(pending, report);
}

/** INTERNALDATE of the oldest message still in the folder after the drain, when the listing had one. */
function oldestLeft(pending: PendingMessage[], report: DrainReport): Date | undefined {
  const done = new Set([...report.handedOff, ...report.quarantined].map((m) => m.uid));
  let oldest: Date | undefined;
  for (const { uid, receivedAt } of pending) {
    if (!done.has(uid) && receivedAt && (!oldest || receivedAt < oldest)) oldest = receivedAt;
  }
  return oldest;
}

/** Hands off a fetched step and, only with Storage's acknowledgement in hand, settles it in the mailbox. */
async function finishStep(fetched: FetchedStep, ctx: StepContext, report: DrainReport, stop: StopRules): Promise<void> {
  const { mailbox, ledger, logger } = ctx;
  const uids = fetched.step.messages.map((m) => m.uid);
  let results: HandOffResult[] = [];
  try {
    results = await handOffStep(fetched, ctx);
    record(report, results, logger);
    await ledger.settle(uids, results);

    // Only now is the mailbox touched.
    await mailbox.settle(uidsOf(results, 'handedOff'));
    await mailbox.quarantine(uidsOf(results, 'quarantined'));
  } catch (error) {
    await ledger.abandon(uids);
    stop.unsettled += results.filter((r) => r.outcome !== 'failed').length;
    throw error;
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
