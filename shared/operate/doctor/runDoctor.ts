/**
 * `mail-drain doctor`: walks the drain's chain once, in the drain's order, and
 * prints a checklist a person can follow: settings, the credential in Key
 * Vault, the token and what it grants, the mailbox over IMAP, the queue and the
 * container. A failed step carries the product's own code and the remedy
 * table's steps; a step that needs it is skipped, saying why.
 *
 * It runs the product's code (CredentialCache, Mailbox) rather than a copy, so
 * it fails where the drain would, with the same words. It drains nothing and
 * leaves nothing a consumer would read.
 *
 * Nothing secret is printed: the token is decoded, never shown, and every line
 * goes through the logger's redaction as well.
 */
import { consoleSink, createLogger, type LogSink } from '../../errors/logger.js';
import { CredentialCache } from '../../identity/credential.js';
import { forMailbox } from '../../config/settings.js';
import { Checklist } from './checklist.js';
import { checkCredential } from './checkCredential.js';
import { checkMailbox } from './checkMailbox.js';
import { checkSettings } from './checkSettings.js';
import { checkToken } from './checkToken.js';
import type { DoctorResult } from './doctorStep.js';
import { openStorage } from './openStorage.js';
import { checkContainer, checkQueue } from './storageProbes.js';

export interface DoctorOptions {
  /** A local.settings.json-style file laid over `env`, as `--settings` does for the drain. */
  settingsFile?: string;
  /** Where the product's own log lines go (stderr by default, at LOG_LEVEL). */
  logSink?: LogSink;
  /** The credentials the caller keeps; a new cache by default, as in a new process. */
  credentials?: CredentialCache;
}

/** Runs every check, prints the checklist through `out`, and returns it. Never throws. */
export async function runDoctor(env: Record<string, string | undefined>, out: (line: string) => void, options: DoctorOptions = {}): Promise<DoctorResult> {
  const list = new Checklist(out);

  const settings = await list.check('settings', () => checkSettings(env, options.settingsFile));
  if (!settings) {
    for (const name of ['keyVault', 'token', 'imap', 'queue', 'container'] as const) list.skip(name, 'needs valid settings');
    return list.finish();
  }
  const logger = createLogger(options.logSink ?? consoleSink, settings.logLevel);
  const credentials = options.credentials ?? new CredentialCache();

  const app = await list.check('keyVault', () => checkCredential(settings, logger, credentials));
  const claims = app
    ? await list.check('token', () => checkToken(app, settings, logger))
    : list.skip('token', 'needs the app credential, which could not be read from Key Vault');
  // The token's oid is the Enterprise application's object ID, which the Exchange cmdlets of a remedy need.
  // Every mailbox: one app registration serves them all, but each needs its own Add-MailboxPermission.
  const targets = settings.mailboxes.filter((t) => t.enabled).map((t) => forMailbox(settings, t));
  if (targets.length === 0) list.skip('imap', 'every mailbox in MAILBOXES is disabled ("enabled": false)');
  for (const one of targets) {
    if (app && claims) await list.check('imap', () => checkMailbox(app, one, logger), { mailbox: one.mailbox, ...(claims.oid ? { objectId: claims.oid } : {}) });
    else list.skip('imap', `${targets.length > 1 ? `${one.mailbox}: ` : ''}${app ? 'needs a token that Exchange Online accepts' : 'needs the app credential and a token'}`);
  }

  // Storage needs only the settings: it is checked whatever happened to the mailbox side, once per queue and container.
  const checked = new Set<string>();
  for (const one of targets) {
    const { queueName, containerName } = one.output;
    if (!checked.has(`q:${queueName}`)) await list.check('queue', async () => checkQueue(openStorage(one).queue));
    if (!checked.has(`c:${containerName}`)) await list.check('container', async () => checkContainer(openStorage(one).container));
    checked.add(`q:${queueName}`).add(`c:${containerName}`);
  }
  return list.finish();
}
