/**
 * When the drain stops starting steps: the lease was lost, the time budget is
 * spent, a step lost the mailbox or Storage, or Storage keeps failing. What is
 * not started stays in the mailbox for the next run.
 */
import { isDrainError } from '../errors/errors.js';
import type { Logger } from '../errors/logger.js';
import type { HandOffResult } from './handOff.js';
import { reserveFor, type Step } from './plan.js';
import { stopEarly, type DrainReport, type StopCause } from './report.js';

/**
 * Passing failures (Storage or the network down) of this many messages in a
 * row stop the drain: the rest would fail the same way. Fewer are one message's
 * bad luck, and never hold up the rest.
 */
export const STOP_AFTER_PASSING_FAILURES = 3;

export class StopRules {
  private reason: string | undefined;
  /** What kind of stop `reason` is, and the error behind it when there is one: the report and the status carry them. */
  private cause: StopCause | undefined;
  /** Stopping because something failed: hand-offs not yet begun are left too (their settle would fail, or Storage is down). */
  private halted = false;
  /** An error that is not an operator's to act on (a bug): thrown once the steps in flight are done. */
  private bug: { error: unknown } | undefined;
  private passingFailures = 0;
  /** Messages handed off but not settled by steps that failed: the next run hands them off again, same ids. */
  unsettled = 0;

  constructor(
    private readonly lease: { lost: boolean },
    private readonly clock: { deadline?: number; now: () => number },
  ) {}

  /** True when no further step may start; the first reason found is the one reported. */
  before(step: Step): boolean {
    if (this.reason || this.bug) return true;
    if (this.lease.lost) this.halt('the mailbox lease was lost', { kind: 'leaseLost' });
    else if (this.clock.deadline !== undefined && this.clock.now() > this.clock.deadline - reserveFor(step)) {
      this.reason = 'the time budget is spent (the function timeout: host.json, or AzureFunctionsJobHost__functionTimeout)';
      this.cause = { kind: 'timeBudget' };
    }
    return this.reason !== undefined;
  }

  /** A step failed as a whole: the mailbox or Storage went away (the rest waits), or a bug. */
  failed(error: unknown): void {
    if (!isDrainError(error)) this.bug ??= { error };
    this.halt(isDrainError(error) ? error.explain() : 'an unexpected error', isDrainError(error) ? { kind: 'error', code: error.code, remedy: error.remedy } : { kind: 'error' });
  }

  /**
   * True once the drain stops because something failed: hand-offs not yet
   * begun are left for the next run. Not when the time budget is spent: steps
   * already fetched were started with their reserve, and finish.
   */
  stopped(): boolean {
    return this.halted;
  }

  /** Each hand-off's result, as it completes: passing failures in a row stop the drain. */
  counted(result: HandOffResult): void {
    this.passingFailures = result.outcome === 'failed' && !result.own ? this.passingFailures + 1 : 0;
    if (this.passingFailures >= STOP_AFTER_PASSING_FAILURES) {
      // Storage is down: the rest would fail too. Leave them for the next run.
      this.halt(`${STOP_AFTER_PASSING_FAILURES} hand-offs in a row failed for a passing reason`, { kind: 'failures' });
    }
  }

  private halt(reason: string, cause: StopCause): void {
    if (!this.reason) this.cause = cause;
    this.reason ??= reason;
    this.halted = true;
  }

  /** Once nothing is in flight: rethrows a bug, or writes the reason to stop into the report. */
  end(report: DrainReport, logger: Logger): void {
    if (this.bug) throw this.bug.error;
    if (!this.reason) return;
    const note =
      this.unsettled > 0 ? ` ${this.unsettled} message(s) were handed off but not settled; the next run hands them off again under the same ids.` : '';
    stopEarly(report, `${this.reason}${note}`, logger);
    report.stop = this.cause;
  }
}
