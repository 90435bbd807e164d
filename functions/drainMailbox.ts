/**
 * The two functions of the fan-out (shared/fanout/drainRequests.ts), thin on
 * purpose:
 * - `requestDrains`, on the timer DRAIN_SCHEDULE (NCRONTAB, read and validated
 *   when the function is registered): one drain request per enabled mailbox
 *   folder on the control queue DRAIN_REQUESTS_QUEUE;
 * - `drainMailbox`, triggered by that queue: drains the mailbox folder a
 *   request names (shared/drain/drain.ts), and asks again when its time budget
 *   ran out first. host.json bounds how many run at once on one instance.
 *
 * A drain that fails for a reason an operator can act on is logged with what
 * to do and recorded in the mailbox's status; the invocation itself succeeds,
 * because retrying the request would only repeat the failure into the poison
 * queue, and the next tick asks again. A bug fails it.
 * What this hands the host (an error of the timer's) is redacted like every
 * log line: the host sends it to Application Insights.
 *
 * Importing this module registers the functions and nothing more: the drain,
 * and with it the identity, IMAP and Storage SDKs, is imported by the first
 * run, once per process, so a cold instance is indexed without paying for them
 * (bench/measure/coldStart.ts measures it; test/functions/coldStart.test.ts keeps it so).
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { isDrainError } from '../shared/errors/errors.js';
import type { CredentialCache } from '../shared/identity/credential.js';
import { functionTimeoutMs } from '../shared/config/hostConfig.js';
import { createLogger, redactedError, routeAzureSdkLogs, type LogSink } from '../shared/errors/logger.js';
import { drainSchedule } from '../shared/config/drainSchedule.js';
import { drainRequestsQueue } from '../shared/config/drainRequestsQueue.js';
import { functionTimeoutSetting } from '../shared/config/functionTimeoutSetting.js';
import { loadSettings } from '../shared/config/loadSettings.js';

// host.json sits at the app root: two levels up from dist/functions/ (and from functions/ under tsx, one).
const HOST_JSON = new URL(import.meta.url.includes('/dist/') ? '../../host.json' : '../host.json', import.meta.url);
const TIMEOUT_MS = functionTimeoutMs(HOST_JSON, functionTimeoutSetting());
// Created by the first run and kept for the life of the host process, so a warm host reuses the credential and its tokens.
let processCredentials: CredentialCache | undefined;

function sinkOf(context: InvocationContext): LogSink {
  return {
    debug: (line) => context.debug(line),
    info: (line) => context.info(line),
    warn: (line) => context.warn(line),
    error: (line) => context.error(line),
  };
}

/** The timer's handler: a drain request for every enabled mailbox folder. */
export async function requestDrains(_timer: Timer, context: InvocationContext): Promise<void> {
  const sink = sinkOf(context);
  try {
    const { requestDrains: request } = await import('../shared/fanout/drainRequests.js');
    const settings = loadSettings(process.env, { runsIn: 'function' });
    const logger = createLogger(sink, settings.logLevel);
    routeAzureSdkLogs(logger, settings.logLevel);
    await request(settings, logger);
  } catch (error) {
    if (isDrainError(error)) createLogger(sink).error(error.explain());
    throw redactedError(error);
  }
}

/** The queue trigger's handler: drains the mailbox folder `item` names; `credentials` is the process's cache unless a test brings its own. */
export async function drainMailbox(item: unknown, context: InvocationContext, credentials?: CredentialCache): Promise<void> {
  // From the start of the run: a first run's import of the drain counts against the host's timeout too.
  const deadline = TIMEOUT_MS === undefined ? undefined : Date.now() + TIMEOUT_MS;
  const sink = sinkOf(context);
  try {
    const [{ drain, isComplete, summaryLine }, { CredentialCache }, { serveRequest }] = await Promise.all([
      import('../shared/drain/drain.js'),
      import('../shared/identity/credential.js'),
      import('../shared/fanout/drainRequests.js'),
    ]);
    credentials ??= processCredentials ??= new CredentialCache();
    // In the function app the platform identity is the managed identity alone.
    const settings = loadSettings(process.env, { runsIn: 'function' });
    const logger = createLogger(sink, settings.logLevel);
    routeAzureSdkLogs(logger, settings.logLevel);
    await serveRequest(item, settings, logger, async (one) => {
      try {
        // The drain stops starting new batches in time to settle before the host's timeout.
        const report = await drain(one, logger, { deadline, credentials });
        if (!isComplete(report) && !report.skipped) logger.warn(`${summaryLine(report)}. The rest stays in the mailbox for the next run.`);
        return { skipped: report.skipped, stop: report.stop, complete: isComplete(report) };
      } catch (error) {
        // A bug fails the invocation, to be seen (and retried); a failure an operator can act on
        // is recorded in the mailbox's status by the drain, and said here with what to do.
        if (!isDrainError(error)) throw error;
        logger.error(error.explain());
        return { skipped: false, complete: false };
      }
    });
  } catch (error) {
    // Settings the host cannot run with, or the follow-up request not sent: the host retries these.
    if (isDrainError(error)) createLogger(sink).error(error.explain());
    throw redactedError(error);
  }
}

app.timer('requestDrains', {
  schedule: drainSchedule(),
  handler: requestDrains,
});

app.storageQueue('drainMailbox', {
  queueName: drainRequestsQueue(),
  // The output storage account, by the Functions convention: OUTPUT_STORAGE, or its __queueServiceUri with the identity.
  connection: 'OUTPUT_STORAGE',
  handler: drainMailbox,
});
