import { LABELS, type DoctorStep } from './doctorStep.js';

const MARK = { ok: '[ok]  ', fail: '[FAIL]', skip: '[skip]' } as const;
const INDENT = '       ';

/**
 * One step as the checklist prints it: the result line, its further lines,
 * then what to do: each remedy step's words, and under them each command on a
 * line of its own, ready to copy.
 */
export function formatStep(step: DoctorStep): string[] {
  const [first = '', ...rest] = step.detail.split(/\r?\n/);
  const lines = [`${MARK[step.status]} ${LABELS[step.name]}: ${step.code ? `[${step.code}] ` : ''}${first}`];
  lines.push(...rest.map((line) => `${INDENT}${line.trim()}`));
  if (step.steps?.length) {
    lines.push(`${INDENT}What to do${step.passes ? ' (this passes by itself: the next run tries again)' : ''}:`);
    for (const { say, run = [] } of step.steps) {
      lines.push(`${INDENT}  ${say}`, ...run.map((command) => `${INDENT}    ${command}`));
    }
  }
  return lines;
}
