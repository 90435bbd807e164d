/**
 * A drain's run as its status records it (outbox/mailboxStatus.ts): made from
 * the report, or from the error that ended the run before there was one.
 */
import { describe, isDrainError } from '../errors/errors.js';
import { redact, type Logger } from '../errors/logger.js';
import type { Settings } from '../config/settings.js';
import type { Outbox } from '../outbox/outbox.js';
import type { RunStatus } from '../outbox/mailboxStatus.js';
import { isComplete, type DrainReport } from './report.js';

export function runOf(report: DrainReport, startedAt: Date): RunStatus {
  const left = report.failed.length + report.notAttempted;
  return {
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    outcome: isComplete(report) ? 'completed' : 'incomplete',
    handedOff: report.handedOff.length,
    quarantined: report.quarantined.length,
    left,
    oldestWaitingSince: left > 0 && report.oldestLeft ? report.oldestLeft.toISOString() : null,
    error: errorOf(report),
  };
}

export function failedRun(error: unknown, startedAt: Date): RunStatus {
  return {
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    outcome: 'failed',
    handedOff: 0,
    quarantined: 0,
    left: null,
    oldestWaitingSince: null,
    error: isDrainError(error)
      ? { code: error.code, message: error.message, remedy: error.remedy }
      : { code: null, message: describe(error), remedy: null },
  };
}

/** Why the run left messages behind: the reason it stopped, or else its first failed hand-off. */
function errorOf(report: DrainReport): RunStatus['error'] {
  if (report.stoppedBecause) {
    const { stop } = report;
    const code = stop?.kind === 'error' ? (stop.code ?? null) : null;
    const remedy = stop?.kind === 'error' ? (stop.remedy ?? null) : null;
    return { code, message: report.stoppedBecause.split('\n')[0]!, remedy };
  }
  const first = report.failed[0];
  if (!first) return null;
  return { code: first.code, message: `${report.failed.length} message(s) could not be handed off; UID ${first.uid}: ${first.error.split('\n')[0]}`, remedy: null };
}

/** Writes the run to the folder's status; a failure to write it is logged, never thrown over the drain's own outcome. */
export async function recordRun(outbox: Outbox, settings: Settings, run: RunStatus, logger: Logger): Promise<void> {
  // Like every log line, the status is read by people and tools: no secret, token or signature in it.
  const error = run.error && { code: run.error.code, message: redact(run.error.message), remedy: run.error.remedy && redact(run.error.remedy) };
  try {
    await outbox.writeStatus(settings.mailbox, settings.folder, { ...run, error });
  } catch (error) {
    logger.warn(`The status of ${settings.mailbox}/${settings.folder} could not be written (${describe(error)}); mail-drain status shows the run before.`);
  }
}
