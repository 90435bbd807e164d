/**
 * The metrics each mailbox run emits, by name, unit and kind: the one list the
 * code records (runMeasurements.ts), the README documents, and the alert rules
 * (infra/modules/alerts.bicep) may query; test/infra/alerts.test.ts holds the
 * queries to it. Every data point carries DIMENSIONS.mailbox and .folder.
 */
export const METRICS = {
  handedOff: { name: 'mail_drain.handed_off', unit: '{message}', kind: 'counter', description: 'Messages handed off to the queue in the run' },
  quarantined: { name: 'mail_drain.quarantined', unit: '{message}', kind: 'counter', description: 'Messages quarantined (poison queue and failed folder) in the run' },
  failed: { name: 'mail_drain.failed', unit: '{message}', kind: 'counter', description: 'Messages whose hand-off failed in the run; they stay for the next' },
  duration: { name: 'mail_drain.duration', unit: 's', kind: 'histogram', description: 'How long the run took' },
  backlog: { name: 'mail_drain.backlog', unit: '{message}', kind: 'gauge', description: 'Messages left in the folder at the end of the run' },
  oldestWaitingAge: { name: 'mail_drain.oldest_waiting_age', unit: 'min', kind: 'gauge', description: 'Age of the oldest message left in the folder (0 when none is)' },
  credentialDaysLeft: { name: 'mail_drain.credential_days_left', unit: 'd', kind: 'gauge', description: "Days until the app's secret or certificate expires (none for federated)" },
  throttledWait: { name: 'mail_drain.throttled_wait', unit: 'ms', kind: 'counter', description: 'Time the run waited because Exchange throttled it' },
  runs: { name: 'mail_drain.runs', unit: '{run}', kind: 'counter', description: 'Runs, by outcome (completed, incomplete, failed) and error code' },
} as const;

export type MetricKey = keyof typeof METRICS;

/** The data points' attributes: nothing secret, and the mailbox in lower case. */
export const DIMENSIONS = {
  mailbox: 'mailbox',
  folder: 'folder',
  /** mail_drain.runs only: completed | incomplete | failed. */
  outcome: 'outcome',
  /** mail_drain.runs only, when the run has one: the DrainErrorCode that ended or stopped it. */
  errorCode: 'error_code',
} as const;

/** The instrumentation scope the meter is named after. */
export const METER_NAME = 'mail-drain';
