/**
 * The time zone note for a schedule that names hours (an hour field other than
 * "every hour" or "every n hours"): on Flex Consumption, the template's plan, and
 * Linux Consumption, NCRONTAB runs in UTC, and WEBSITE_TIME_ZONE is not supported.
 * Undefined for any other schedule, a TimeSpan included.
 */
export function scheduleTimeZoneNote(schedule: string): string | undefined {
  const fields = schedule.trim().split(/\s+/);
  const hour = fields[2];
  if (fields.length !== 6 || hour === undefined || hour === '*' || /^\*\/\d+$/.test(hour)) return undefined;
  return (
    `DRAIN_SCHEDULE "${schedule.trim()}" names hours (${hour}), and they are UTC: on Flex Consumption (the template's plan) ` +
    'and Linux Consumption, NCRONTAB runs in UTC and WEBSITE_TIME_ZONE is not supported, so write the hours in UTC.'
  );
}
