/**
 * DRAIN_SCHEDULE against NCrontab's grammar (atifaziz/NCrontab, which the
 * Functions host parses timer schedules with), and where we refuse more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scheduleProblem } from '../../../shared/config/scheduleProblem.js';

const accepted = (schedule: string) => assert.equal(scheduleProblem(schedule), undefined, schedule);
const refused = (schedule: string, problem: RegExp) => assert.match(scheduleProblem(schedule) ?? 'accepted', problem, schedule);

test("the examples of Microsoft's NCRONTAB documentation are valid", () => {
  for (const schedule of ['0 */5 * * * *', '0 0 * * * *', '0 0 */2 * * *', '0 0 9-17 * * *', '0 30 9 * * *', '0 30 9 * * 1-5', '0 30 9 * Jan Mon']) {
    accepted(schedule);
  }
});

test('every field takes *, a value, a range, a list and steps, within its bounds', () => {
  for (const schedule of [
    '59 59 23 31 12 6',
    '0 0 0 1 1 0',
    '0,30 0-59/15 8-18/2 1,15 */3 1-5',
    // a/step runs from a to the field's maximum.
    '0 5/15 * * * *',
    '*/100 * * * * *',
    // int.Parse takes leading zeros, in values and steps alike.
    '00 05 08 * * *',
    '0 */05 * * * *',
    // NCrontab splits on runs of spaces.
    '0  */5   * * * *',
  ]) {
    accepted(schedule);
  }
});

test('a value outside its field is named with the field and its bounds', () => {
  for (const [schedule, text, field, bounds] of [
    ['60 * * * * *', '60', 'second', '0-59'],
    ['0 60 * * * *', '60', 'minute', '0-59'],
    ['0 0 24 * * *', '24', 'hour', '0-23'],
    ['0 0 0-24 * * *', '0-24', 'hour', '0-23'],
    ['0 0 0 0 * *', '0', 'day', '1-31'],
    ['0 0 0 32 * *', '32', 'day', '1-31'],
    ['0 0 0 * 0 *', '0', 'month', '1-12'],
    ['0 0 0 * 13 *', '13', 'month', '1-12'],
    // NCrontab's days of the week are 0-6: 7 is not Sunday again.
    ['0 0 0 * * 7', '7', 'day-of-week', '0-6'],
  ] as const) {
    assert.equal(scheduleProblem(schedule), `has "${text}" as its ${field} field, which NCRONTAB does not accept (${bounds}, *, a-b ranges, lists, /steps)`, schedule);
  }
});

test('months and days of the week by name, in full or from three letters, in any case', () => {
  for (const schedule of ['0 0 0 * January Sunday', '0 0 0 * jan-mar mon-fri', '0 0 0 * SEPT SAT', '0 0 9 * Jun,Dec Tue,Thu', '0 0 0 1 Jan/3 *', '0 0 8,20 * * sunday']) {
    accepted(schedule);
  }
  // NCrontab takes any prefix, the first name it begins: J is January, Ju is June. Refused as ambiguous.
  refused('0 0 0 * J *', /has "J" as its month field/);
  refused('0 0 0 * Ju *', /has "Ju" as its month field/);
  refused('0 0 0 * * Su', /has "Su" as its day-of-week field/);
  refused('0 0 0 * * Sundays', /has "Sundays" as its day-of-week field/);
  refused('0 0 0 * Foo *', /has "Foo" as its month field/);
  // Names are for months and days of the week only.
  refused('0 0 Mon * * *', /has "Mon" as its hour field/);
  refused('0 0 0 Jan * *', /has "Jan" as its day field/);
});

test('what NCrontab would take but not as written is refused', () => {
  // NCrontab swaps a descending range: Jun-Jan would run January to June.
  refused('0 0 8 * Jun-Jan *', /has "Jun-Jan" as its month field/);
  refused('0 0 17-9 * * *', /has "17-9" as its hour field/);
  // A step of 0 NCrontab reads as 1; a signed one .NET's int.Parse allows.
  refused('0 */0 * * * *', /has "\*\/0" as its minute field/);
  refused('0 */+5 * * * *', /has "\*\/\+5" as its minute field/);
  // Beyond int.Parse, the host fails with an overflow.
  refused('*/2147483648 * * * * *', /has "\*\/2147483648" as its second field/);
  accepted('*/2147483647 * * * * *');
});

test('malformed items are refused, as NCrontab refuses them', () => {
  for (const [schedule, field] of [
    ['0 1,,2 * * * *', '1,,2'],
    ['0 1, * * * *', '1,'],
    ['0 ,1 * * * *', ',1'],
    ['0 */2/3 * * * *', '*/2/3'],
    ['0 /5 * * * *', '/5'],
    ['0 5/ * * * *', '5/'],
    ['0 */* * * * *', '*/*'],
    ['0 *-5 * * * *', '*-5'],
    ['0 5-* * * * *', '5-*'],
    ['0 1-2-3 * * * *', '1-2-3'],
    ['0 -1 * * * *', '-1'],
    ['0 1.5 * * * *', '1.5'],
  ]) {
    refused(schedule!, new RegExp(`has "${field!.replace(/[*+/.]/g, '\\$&')}" as its minute field`));
  }
  // Quartz's and others' extensions are not NCRONTAB.
  refused('? * * * * *', /has "\?" as its second field/);
  refused('0 0 8 L * *', /has "L" as its day field/);
  refused('0 0 8 15W * *', /has "15W" as its day field/);
  refused('0 0 8 * * 1#2', /has "1#2" as its day-of-week field/);
});

test('six fields, seconds first: five (minute-first cron) or seven are refused with the count', () => {
  refused('*/5 * * * *', /^does not have six fields \(it has 5; NCRONTAB here starts with seconds\)$/);
  refused('0 0 12 * * ? 2030', /^does not have six fields \(it has 7;/);
  refused('', /^does not have six fields \(it has 1;/);
  // Fields are split on spaces only, as the host splits them: a tab stays in its field.
  refused('0\t*/5 * * * * *', /has "0\t\*\/5" as its second field/);
  // Surrounding white space is not part of the schedule.
  accepted(' 0 */5 * * * *\t');
});

test('a TimeSpan hh:mm:ss is the interval between runs; zero or out of range is refused', () => {
  for (const schedule of ['00:05:00', '1:00:00', '23:59:59']) accepted(schedule);
  refused('00:00:00', /^is a TimeSpan of zero$/);
  for (const schedule of ['24:00:00', '00:60:00', '00:00:60']) refused(schedule, /^is not a TimeSpan \(hh:mm:ss, hours 00-23\)$/);
});
