import type { Settings } from '../../config/settings.js';
import type { Logger } from '../../errors/logger.js';
import type { AppCredential } from '../../identity/credential.js';
import { Mailbox } from '../../mailbox/mailbox.js';
import type { Passed } from './doctorStep.js';

/**
 * Opens the mailbox as the drain does (TLS, XOAUTH2, the folder under a lock)
 * and counts what there is to drain. Creates PROCESSED_FOLDER and FAILED_FOLDER
 * when missing, as the drain's first run does.
 */
export async function checkMailbox(app: AppCredential, settings: Settings, logger: Logger): Promise<Passed<number>> {
  const mailbox = await Mailbox.open(settings, (options) => app.mailboxToken(logger, options), logger);
  try {
    const { pending, seenSkipped } = await mailbox.inventory();
    const bytes = pending.reduce((n, m) => n + m.size, 0);
    const which = settings.afterProcessing === 'flag' ? 'unseen message(s)' : 'message(s)';
    // Flag mode drains only unseen mail: what a person opened first is never drained. Say how much that is.
    const skipped =
      settings.afterProcessing === 'flag'
        ? `; ${seenSkipped} message(s) already \\Seen (opened by a person, or handed off before) are skipped by AFTER_PROCESSING=flag and never drained`
        : '';
    return {
      value: pending.length,
      detail:
        `${settings.imap.host}:${settings.imap.port}: TLS certificate verified, XOAUTH2 accepted for ${settings.mailbox}, ` +
        `folder "${mailbox.folder}" selected (UIDVALIDITY ${mailbox.uidValidity}), ${pending.length} ${which} to drain (${kib(bytes)})${skipped}`,
    };
  } finally {
    await mailbox.close();
  }
}

function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${Math.round(bytes / 1024)} KiB`;
}
