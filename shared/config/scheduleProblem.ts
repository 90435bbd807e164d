/**
 * Whether the timer trigger accepts a schedule, and if not, why: checked here so
 * that a bad DRAIN_SCHEDULE fails with our words and the fix, not the host's
 * "The schedule expression ... was not recognized".
 */

// NCRONTAB (the NCrontab library the Functions host uses): *, values, a-b ranges, lists, /steps;
// months and days of the week also by English name or abbreviation.
const SCHEDULE_FIELDS = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'] },
  { name: 'day-of-week', min: 0, max: 6, names: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] },
] as const;

/** Why a schedule is not one the timer trigger accepts, or undefined for a valid one. */
export function scheduleProblem(schedule: string): string | undefined {
  const value = schedule.trim();
  // A TimeSpan: the interval between runs, hh:mm:ss.
  const span = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(value);
  if (span) {
    const [hours, minutes, seconds] = span.slice(1).map(Number) as [number, number, number];
    if (hours > 23 || minutes > 59 || seconds > 59) return 'is not a TimeSpan (hh:mm:ss, hours 00-23)';
    return hours + minutes + seconds === 0 ? 'is a TimeSpan of zero' : undefined;
  }
  const fields = value.split(/\s+/);
  if (fields.length !== 6) return `does not have six fields (it has ${fields.length}; NCRONTAB here starts with seconds)`;
  for (const [i, field] of fields.entries()) {
    const spec = SCHEDULE_FIELDS[i]!;
    // A number, or (months, days of the week) a name abbreviated to three letters or more.
    const value = (text: string) => {
      if (/^\d+$/.test(text)) return Number(text);
      const index = 'names' in spec && text.length >= 3 ? spec.names.findIndex((n) => n.startsWith(text.toLowerCase())) : -1;
      return index >= 0 ? index + spec.min : undefined;
    };
    // Each item of a list: *, a value or an a-b range, each optionally /step.
    const valid = field.split(',').every((item) => {
      const [range = '', step, ...extra] = item.split('/');
      if (extra.length > 0 || (step !== undefined && !/^[1-9]\d*$/.test(step))) return false;
      if (range === '*') return true;
      const bounds = range.split('-').map(value);
      if (bounds.length > 2 || bounds.some((b) => b === undefined || b < spec.min || b > spec.max)) return false;
      return bounds.length === 1 || bounds[0]! <= bounds[1]!;
    });
    if (!valid) return `has "${field}" as its ${spec.name} field, which NCRONTAB does not accept (${spec.min}-${spec.max}, *, a-b ranges, lists, /steps)`;
  }
  return undefined;
}
