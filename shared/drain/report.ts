/** What one drain did, as the CLI, the function log and the tests read it. */
import { describe, isDrainError, type DrainErrorCode } from '../errors/errors.js';
import type { Logger } from '../errors/logger.js';
import type { HandOffResult } from './handOff.js';

export interface DrainReport {
  mailbox: string;
  folder: string;
  /** Another drain held the mailbox's lease: this one did nothing. */
  skipped: boolean;
  found: number;
  handedOff: { uid: number; id: string; subject: string | null; viaBlob: boolean }[];
  quarantined: { uid: number; id: string; reason: string; detail: string; rawBlobUrl: string | null }[];
  failed: { uid: number; id: string; error: string; code: DrainErrorCode | null }[];
  /** Messages not attempted because the drain stopped early; they stay for the next run. */
  notAttempted: number;
  /** Why the drain stopped early, when it did. */
  stoppedBecause?: string;
  /** The same, for code: a follow-up drain request is sent when the time budget ran out. */
  stop?: StopCause;
  /** INTERNALDATE of the oldest message the drain leaves in the folder, when it leaves any and the server said. */
  oldestLeft?: Date;
  /** Milliseconds the drain waited because Exchange throttled it. */
  throttledMs: number;
  queueUrl: string;
  containerUrl: string;
}

/**
 * Why a drain stopped before the end: its time budget, its lease, passing
 * failures in a row (Storage or the network down), or an error (with its code
 * and what to do when it is one of ours).
 */
export type StopCause =
  | { kind: 'timeBudget' | 'leaseLost' | 'failures' }
  | { kind: 'error'; code?: DrainErrorCode; remedy?: string };

/** True when every message found was handed off or quarantined (or another drain had the mailbox). */
export function isComplete(report: DrainReport): boolean {
  return report.failed.length === 0 && report.notAttempted === 0 && !report.stoppedBecause;
}

export function emptyReport(where: { mailbox: string; folder: string; queueUrl: string; containerUrl: string }): DrainReport {
  return { ...where, skipped: false, found: 0, handedOff: [], quarantined: [], failed: [], notAttempted: 0, throttledMs: 0 };
}

/** Adds a step's results to the report, and logs each. */
export function record(report: DrainReport, results: HandOffResult[], logger: Logger): void {
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
        report.failed.push({ uid: r.uid, id: r.id, error: describe(r.error), code: isDrainError(r.error) ? r.error.code : null });
        logger.error(`Could not hand off UID ${r.uid}; it stays in the mailbox for the next run. ${describe(r.error)}`);
        break;
    }
  }
}

/** Ends the report early: the messages not yet attempted stay in the mailbox for the next run. */
export function stopEarly(report: DrainReport, reason: string, logger: Logger): void {
  report.stoppedBecause = reason;
  report.notAttempted = Math.max(0, report.found - report.handedOff.length - report.quarantined.length - report.failed.length);
  logger.warn(`Stopping early: ${reason}. ${report.notAttempted} message(s) stay in the mailbox for the next run.`);
}

export function summaryLine(report: DrainReport): string {
  if (report.skipped) return `Drain of ${report.mailbox}/${report.folder}: skipped, another drain holds the mailbox`;
  return (
    `Drain of ${report.mailbox}/${report.folder}: ${report.found} found, ${report.handedOff.length} handed off, ` +
    `${report.quarantined.length} quarantined, ${report.failed.length} failed, ${report.notAttempted} left for the next run` +
    (report.stoppedBecause ? ` (stopped: ${report.stoppedBecause.split('\n')[0]})` : '')
  );
}
