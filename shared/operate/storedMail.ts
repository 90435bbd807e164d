/**
 * What replay and redrive share: the output containers of the configured
 * mailboxes, the stored raw messages in them by id, and the mailbox settings
 * (queue, folders, limits) a stored message belongs to.
 */
import { DrainError } from '../errors/errors.js';
import { findMailbox, forMailbox, type Settings } from '../config/settings.js';
import { Outbox } from '../outbox/outbox.js';
import type { ListedBlob } from '../outbox/storedBlobs.js';
import { storageCredential } from '../identity/storageCredential.js';
import type { MessageIdentity } from '../drain/messageIdentity.js';

/** A message id: 64 hex digits (messageKey). */
export const ID_PATTERN = /^[0-9a-f]{64}$/;

/** Opens outboxes once per queue and container. */
export class Outboxes {
  private readonly open = new Map<string, Outbox>();

  constructor(private readonly settings: Settings) {}

  for(one: Settings): Outbox {
    const key = `${one.output.queueName}\n${one.output.containerName}`;
    let outbox = this.open.get(key);
    if (!outbox) {
      outbox = Outbox.open(one.output.storage, one.output, () => storageCredential(this.settings));
      this.open.set(key, outbox);
    }
    return outbox;
  }

  /** One outbox per container of these mailboxes: where their blobs are looked for. */
  containers(targets: Settings[]): { containerName: string; outbox: Outbox }[] {
    const seen = new Map<string, Outbox>();
    for (const one of targets) if (!seen.has(one.output.containerName)) seen.set(one.output.containerName, this.for(one));
    return [...seen].map(([containerName, outbox]) => ({ containerName, outbox }));
  }
}

/**
 * The folders `--mailbox` names (any case), which must be configured; without it
 * every configured one, or (`enabledOnly`, as drain and status take them) every enabled one.
 */
export function mailboxesOf(settings: Settings, mailbox: string | undefined, { enabledOnly = false } = {}): Settings[] {
  const chosen = mailbox
    ? settings.mailboxes.filter((t) => t.mailbox.toLowerCase() === mailbox.trim().toLowerCase())
    : settings.mailboxes.filter((t) => t.enabled || !enabledOnly);
  if (mailbox && chosen.length === 0) {
    throw new DrainError('SETTINGS_INVALID', `--mailbox ${mailbox} is not in MAILBOXES (${settings.mailboxes.map((t) => t.mailbox).join(', ')}): add it there, or name one of them.`);
  }
  return chosen.map((t) => forMailbox(settings, t));
}

/** The settings of the mailbox folder a stored message came from; it must still be configured. */
export function settingsOf(settings: Settings, identity: MessageIdentity): Settings {
  const target = findMailbox(settings, identity.mailbox, identity.folder);
  if (!target) {
    throw new DrainError(
      'SETTINGS_INVALID',
      `The message came from ${identity.mailbox}, folder ${identity.folder}, which is not in MAILBOXES: add it there (enabled or not) so its queue and folders are known.`,
      { mailbox: identity.mailbox, folder: identity.folder },
    );
  }
  return forMailbox(settings, target);
}

/** Blobs named `<prefix><id>/raw.eml`, with their id. */
export function rawBlobs(listed: ListedBlob[], prefix: string): (ListedBlob & { id: string })[] {
  return listed.flatMap((blob) => {
    const id = blob.name.slice(prefix.length).split('/')[0]!;
    return blob.name === `${prefix}${id}/raw.eml` && ID_PATTERN.test(id) ? [{ ...blob, id }] : [];
  });
}
