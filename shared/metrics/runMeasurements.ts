/**
 * A finished run as the data points it emits (metricNames.ts): pure, so that
 * what a run reports is tested without an exporter.
 */
import type { RunStatus } from '../outbox/mailboxStatus.js';
import { DIMENSIONS, type MetricKey } from './metricNames.js';

/** What a run leaves for its metrics: its status, and what the status does not say. */
export interface FinishedRun {
  mailbox: string;
  folder: string;
  status: RunStatus;
  /** Hand-offs that failed (the messages stay for the next run). */
  failed: number;
  /** Milliseconds waited because Exchange throttled the session. */
  throttledMs: number;
  /** When the stored secret or certificate expires; undefined for federated or unknown. */
  credentialExpiresOn?: Date;
}

export interface Measurement {
  metric: MetricKey;
  value: number;
  attributes: Record<string, string>;
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export function runMeasurements(run: FinishedRun): Measurement[] {
  const { status } = run;
  // As MAILBOXES keys them (folderKey): the address in lower case, INBOX in any case as INBOX.
  const folder = run.folder.toUpperCase() === 'INBOX' ? 'INBOX' : run.folder;
  const where = { [DIMENSIONS.mailbox]: run.mailbox.toLowerCase(), [DIMENSIONS.folder]: folder };
  const ended = Date.parse(status.endedAt);
  const point = (metric: MetricKey, value: number, attributes: Record<string, string> = where): Measurement => ({ metric, value, attributes });
  const code = status.error?.code;
  const points = [
    point('runs', 1, { ...where, [DIMENSIONS.outcome]: status.outcome, ...(code ? { [DIMENSIONS.errorCode]: code } : {}) }),
    point('handedOff', status.handedOff),
    point('quarantined', status.quarantined),
    point('failed', run.failed),
    point('duration', (ended - Date.parse(status.startedAt)) / 1000),
    point('throttledWait', run.throttledMs),
  ];
  // A failed run does not know what it left: no backlog rather than a wrong one.
  if (status.left !== null) {
    points.push(point('backlog', status.left));
    if (status.left === 0) points.push(point('oldestWaitingAge', 0));
    else if (status.oldestWaitingSince) points.push(point('oldestWaitingAge', Math.max(0, (ended - Date.parse(status.oldestWaitingSince)) / MINUTE_MS)));
  }
  if (run.credentialExpiresOn) points.push(point('credentialDaysLeft', (run.credentialExpiresOn.getTime() - ended) / DAY_MS));
  return points;
}
