import { describe, isDrainError } from '../../errors/errors.js';
import type { Facts } from '../../errors/facts.js';
import { redact } from '../../errors/logger.js';
import { REMEDIES, type RemedyStep } from '../../errors/remedies.js';
import { renderSteps } from '../../errors/renderRemedy.js';
import { LABELS, type DoctorResult, type DoctorStep, type Passed, type StepName } from './doctorStep.js';
import { formatStep } from './formatStep.js';

const UNEXPECTED: RemedyStep[] = [{ say: 'Run again with LOG_LEVEL=debug and report the output.' }];

/** The steps so far, printed as they complete. */
export class Checklist {
  readonly steps: DoctorStep[] = [];

  constructor(private readonly out: (line: string) => void) {}

  /**
   * Runs one check. A DrainError fails it with its code and the remedy table's
   * steps for its facts, with `known` laid over them: what earlier checks
   * found out (the Enterprise application's object ID, from the token).
   */
  async check<T>(name: StepName, run: () => Promise<Passed<T>>, known: Facts = {}): Promise<T | undefined> {
    try {
      const passed = await run();
      this.add({ name, status: passed.notApplicable ? 'skip' : 'ok', detail: passed.detail, ...remedy(passed.steps) });
      return passed.value;
    } catch (error) {
      if (isDrainError(error)) {
        const steps = REMEDIES[error.code].steps({ ...error.facts, ...known });
        this.add({ name, status: 'fail', detail: error.message, code: error.code, passes: error.passes, ...remedy(steps) });
      } else {
        this.add({ name, status: 'fail', detail: `failed unexpectedly: ${describe(error)}`, ...remedy(UNEXPECTED) });
      }
      return undefined;
    }
  }

  skip(name: StepName, reason: string): undefined {
    this.add({ name, status: 'skip', detail: `skipped: ${reason}` });
    return undefined;
  }

  finish(): DoctorResult {
    const failed = this.steps.filter((s) => s.status === 'fail');
    const ok = failed.length === 0;
    const passed = this.steps.filter((s) => s.status === 'ok').length;
    this.out(
      ok
        ? `All ${passed} checks passed${passed < this.steps.length ? ` (${this.steps.length - passed} not applicable)` : ''}: the drain can run.`
        : `${failed.length} check${failed.length === 1 ? '' : 's'} failed (${failed.map((s) => LABELS[s.name]).join(', ')}); ` +
            'fix the first one above and run mail-drain doctor again.',
    );
    return { ok, steps: this.steps };
  }

  /** Redacted as log lines are: the returned steps are as safe to print as the checklist. */
  private add(step: DoctorStep): void {
    const steps = step.steps?.map(({ say, run }) => ({ say: redact(say), ...(run ? { run: run.map(redact) } : {}) }));
    const safe: DoctorStep = { ...step, detail: redact(step.detail), ...(step.remedy ? { remedy: redact(step.remedy) } : {}), ...(steps ? { steps } : {}) };
    this.steps.push(safe);
    for (const line of formatStep(safe)) this.out(line);
  }
}

function remedy(steps: RemedyStep[] | undefined): Pick<DoctorStep, 'remedy' | 'steps'> {
  return steps?.length ? { remedy: renderSteps(steps), steps } : {};
}
