/**
 * Whether the timer trigger accepts a schedule, and if not, why: checked here so
 * that a bad DRAIN_SCHEDULE fails with our words and the fix, not the host's
 * "The schedule expression ... was not recognized".
 *
 * The grammar is NCrontab's (CrontabFieldImpl and CrontabSchedule in
 * atifaziz/NCrontab, which the Functions host parses schedules with): fields
 * separated by spaces; each field a comma list of items; an item `*`, a value or
 * a range `a-b`, each optionally `/step` (`a/step` runs from a to the field's
 * maximum); months and days of the week also by English name or a prefix of one,
 * in any case. Where NCrontab accepts what cannot be what the operator meant,
 * this refuses it:
 *
 * - five fields: the host reads them as minute-first cron, the README documents
 *   six with seconds first, and a pasted Unix crontab would silently shift;
 * - a descending range (`Jun-Jan`): NCrontab swaps it to Jan-Jun, the opposite months;
 * - a step of 0: NCrontab reads it as a step of 1;
 * - a name shorter than three letters: NCrontab takes the first name it begins
 *   (`J` is January, `Ju` June), three letters are unambiguous;
 * - a signed step (`+5`), which .NET's int.Parse allows.
 *
 * The host also accepts a TimeSpan (hh:mm:ss, the interval between runs; App
 * Service plans only).
 */

interface Field {
  name: string;
  min: number;
  max: number;
  /** English names, in order from `min`. */
  names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'] },
  // NCrontab's days of the week are 0-6 from Sunday; 7 is not Sunday again.
  { name: 'day-of-week', min: 0, max: 6, names: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] },
];

/** Why a schedule is not one the timer trigger accepts, or undefined for a valid one. */
export function scheduleProblem(schedule: string): string | undefined {
  const value = schedule.trim();
  const span = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(value);
  if (span) {
    const [hours, minutes, seconds] = span.slice(1).map(Number) as [number, number, number];
    if (hours > 23 || minutes > 59 || seconds > 59) return 'is not a TimeSpan (hh:mm:ss, hours 00-23)';
    return hours + minutes + seconds === 0 ? 'is a TimeSpan of zero' : undefined;
  }
  // Spaces only, as the host and NCrontab split: a tab is part of a field, and fails it.
  const fields = value.split(/ +/);
  if (fields.length !== 6) return `does not have six fields (it has ${fields.length}; NCRONTAB here starts with seconds)`;
  for (const [i, text] of fields.entries()) {
    const field = FIELDS[i]!;
    if (!text.split(',').every((item) => accepts(field, item))) {
      return `has "${text}" as its ${field.name} field, which NCRONTAB does not accept (${field.min}-${field.max}, *, a-b ranges, lists, /steps)`;
    }
  }
  return undefined;
}

/** One item of a field's list: `*`, a value or an `a-b` range, each optionally `/step`. */
function accepts(field: Field, item: string): boolean {
  const [range = '', step, ...more] = item.split('/');
  if (more.length > 0) return false;
  // A step NCrontab reads: digits (.NET's int.Parse: up to 2^31 - 1), and not 0.
  if (step !== undefined && !(/^\d+$/.test(step) && Number(step) > 0 && Number(step) < 2 ** 31)) return false;
  if (range === '*') return true;
  const bounds = range.split('-').map((text) => valueOf(field, text));
  if (bounds.length > 2 || bounds.some((b) => b === undefined || b < field.min || b > field.max)) return false;
  return bounds.length === 1 || bounds[0]! <= bounds[1]!;
}

/** A number, or (months, days of the week) a name or its first three letters or more. */
function valueOf(field: Field, text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  if (!field.names || text.length < 3) return undefined;
  const index = field.names.findIndex((name) => name.startsWith(text.toLowerCase()));
  return index >= 0 ? field.min + index : undefined;
}
