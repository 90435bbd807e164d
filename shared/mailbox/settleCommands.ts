/**
 * The IMAP commands that settle messages, and the capabilities that make them
 * safe. Without UIDPLUS (RFC 4315), imapflow's delete (and its MOVE fallback)
 * ends in a plain EXPUNGE, which removes every \\Deleted message in the folder,
 * not only the drain's: a person's mail flagged for deletion in Outlook would
 * go with it.
 */
import type { ImapFlow } from 'imapflow';
import { DrainError } from '../errors/errors.js';
import type { AfterProcessing, Settings } from '../config/settings.js';

/** MOVE (RFC 6851), or UIDPLUS for imapflow's COPY + UID EXPUNGE fallback. */
export function canMoveSafely(client: ImapFlow): boolean {
  return client.capabilities.has('MOVE') || client.capabilities.has('UIDPLUS');
}

/** Refuses a server on which AFTER_PROCESSING would expunge other people's mail; called before anything is touched. */
export function requireSafeSettle(client: ImapFlow, settings: Pick<Settings, 'afterProcessing' | 'imap' | 'folder'>): void {
  const has = (name: string) => client.capabilities.has(name);
  const missing =
    settings.afterProcessing === 'delete' && !has('UIDPLUS')
      ? 'UIDPLUS, which AFTER_PROCESSING=delete needs to expunge only the drained messages'
      : settings.afterProcessing === 'move' && !canMoveSafely(client)
        ? 'MOVE or UIDPLUS, which AFTER_PROCESSING=move needs to move only the drained messages'
        : undefined;
  if (!missing) return;
  throw new DrainError(
    'IMAP_CAPABILITY_MISSING',
    `The IMAP server ${settings.imap.host}:${settings.imap.port} does not offer ${missing}: settling would expunge every message flagged \\Deleted in ${settings.folder}, other people's too. Nothing was touched.`,
    { host: settings.imap.host, port: settings.imap.port, folder: settings.folder },
  );
}

/** Settles a UID set the way AFTER_PROCESSING says; false when the server refused (imapflow's convention). */
export async function settleAs(client: ImapFlow, uids: string, mode: AfterProcessing, processedFolder: string): Promise<unknown> {
  switch (mode) {
    case 'move':
      return client.messageMove(uids, processedFolder, { uid: true });
    case 'delete':
      // UIDPLUS is required at connect: imapflow stores \Deleted and expunges just these UIDs (UID EXPUNGE).
      return client.messageDelete(uids, { uid: true });
    case 'flag':
      return client.messageFlagsAdd(uids, ['\\Seen'], { uid: true });
  }
}
