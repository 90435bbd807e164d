/**
 * The timer-triggered drain. Thin on purpose: the work is shared/drain/drain.ts.
 * The schedule is the app setting DRAIN_SCHEDULE (NCRONTAB), read and validated
 * when the function is registered. What this hands the host (a failed run's
 * error) is redacted like every log line: the host sends it to Application Insights.
 *
 * Importing this module registers the function and nothing more: the drain, and
 * with it the identity, IMAP and Storage SDKs, is imported by the first run, once
 * per process, so a cold instance is indexed without paying for them
 * (bench/coldStart.ts measures it; test/functions/coldStart.test.ts keeps it so).
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { isDrainError } from '../shared/errors/errors.js';
import type { CredentialCache } from '../shared/identity/credential.js';
import { functionTimeoutMs } from '../shared/config/hostConfig.js';
import { createLogger, redactedError, routeAzureSdkLogs, type LogSink } from '../shared/errors/logger.js';
import { drainSchedule } from '../shared/config/drainSchedule.js';
import { functionTimeoutSetting } from '../shared/config/functionTimeoutSetting.js';
import { loadSettings } from '../shared/config/loadSettings.js';

// host.json sits at the app root: two levels up from dist/functions/ (and from functions/ under tsx, one).
const HOST_JSON = new URL(import.meta.url.includes('/dist/') ? '../../host.json' : '../host.json', import.meta.url);
const TIMEOUT_MS = functionTimeoutMs(HOST_JSON, functionTimeoutSetting());
// Created by the first run and kept for the life of the host process, so a warm host reuses the credential and its tokens.
let processCredentials: CredentialCache | undefined;

/** The timer's handler; `credentials` is the process's cache unless a test brings its own. */
export async function drainMailbox(_timer: Timer, context: InvocationContext, credentials?: CredentialCache): Promise<void> {
  // From the start of the run: a first run's import of the drain counts against the host's timeout too.
  const deadline = TIMEOUT_MS === undefined ? undefined : Date.now() + TIMEOUT_MS;
  const sink: LogSink = {
    debug: (line) => context.debug(line),
    info: (line) => context.info(line),
    warn: (line) => context.warn(line),
    error: (line) => context.error(line),
  };
  try {
    const [{ drain, isComplete, summaryLine }, { CredentialCache }] = await Promise.all([
      import('../shared/drain/drain.js'),
      import('../shared/identity/credential.js'),
    ]);
    credentials ??= processCredentials ??= new CredentialCache();
    // In the function app the platform identity is the managed identity alone.
    const settings = loadSettings(process.env, { runsIn: 'function' });
    // The drain stops starting new batches in time to settle before the host's timeout.
    const logger = createLogger(sink, settings.logLevel);
    routeAzureSdkLogs(logger, settings.logLevel);
    const report = await drain(settings, logger, { deadline, credentials });
    // A partial drain fails the invocation, so that it shows in monitoring and alerts.
    if (!isComplete(report)) throw new Error(`${summaryLine(report)}. The rest stays in the mailbox for the next run.`);
  } catch (error) {
    if (isDrainError(error)) createLogger(sink).error(error.explain());
    throw redactedError(error);
  }
}

app.timer('drainMailbox', {
  schedule: drainSchedule(),
  handler: drainMailbox,
});
