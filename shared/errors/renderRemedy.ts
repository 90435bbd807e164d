import type { DrainErrorCode } from './errors.js';
import type { Facts } from './facts.js';
import { REMEDIES, type RemedyStep } from './remedies.js';

/**
 * A remedy as one line of text, for a log line or `error.remedy`: each step's
 * words, its commands after them separated by "; ". The doctor prints the
 * steps themselves, one command per line.
 */
export function renderRemedy(code: DrainErrorCode, facts: Facts): string {
  return renderSteps(REMEDIES[code].steps(facts));
}

export function renderSteps(steps: RemedyStep[]): string {
  return steps.map((step) => (step.run?.length ? `${step.say} ${step.run.join('; ')}.` : step.say)).join(' ');
}
