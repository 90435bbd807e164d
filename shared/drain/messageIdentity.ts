/**
 * Which mail a stored raw message is: mailbox, folder, UIDVALIDITY, UID and
 * INTERNALDATE, kept as metadata on the raw.eml the hand-off (and the
 * quarantine) uploads anyway, so no extra request. `mail-drain replay` rebuilds
 * the queue message from it, `mail-drain redrive` finds the quarantined mail
 * in FAILED_FOLDER by it.
 *
 * Metadata travels as HTTP headers: ASCII only, so the mailbox and folder
 * (a folder name may be any Unicode) are percent-encoded.
 */
import { messageKey } from '../contract/queueMessage.js';
import type { BlobMetadata } from '../outbox/outbox.js';

export interface MessageIdentity {
  mailbox: string;
  folder: string;
  uidValidity: number;
  uid: number;
  /** INTERNALDATE, ISO 8601; absent when the server gave none. */
  receivedAt?: string;
}

export function identityMetadata(ref: { mailbox: string; folder: string; uidValidity: number }, uid: number, receivedAt: Date | undefined): BlobMetadata {
  return {
    mailbox: encodeURIComponent(ref.mailbox),
    folder: encodeURIComponent(ref.folder),
    uidvalidity: String(ref.uidValidity),
    uid: String(uid),
    ...(receivedAt && { receivedat: receivedAt.toISOString() }),
  };
}

/** The identity a blob's metadata records; undefined for a blob stored before it was recorded, or one that does not match its id. */
export function identityOf(metadata: BlobMetadata, id: string): MessageIdentity | undefined {
  // Storage may hand names back in another case.
  const get = (name: string) => Object.entries(metadata).find(([key]) => key.toLowerCase() === name)?.[1];
  const [mailbox, folder, uidValidity, uid, receivedAt] = ['mailbox', 'folder', 'uidvalidity', 'uid', 'receivedat'].map(get);
  if (mailbox === undefined || folder === undefined || !/^\d+$/.test(uidValidity ?? '') || !/^\d+$/.test(uid ?? '')) return undefined;
  let identity: MessageIdentity;
  try {
    identity = { mailbox: decodeURIComponent(mailbox), folder: decodeURIComponent(folder), uidValidity: Number(uidValidity), uid: Number(uid) };
  } catch {
    return undefined;
  }
  if (receivedAt !== undefined && !Number.isNaN(Date.parse(receivedAt))) identity.receivedAt = receivedAt;
  return messageKey(identity.mailbox, identity.folder, identity.uidValidity, identity.uid) === id ? identity : undefined;
}
