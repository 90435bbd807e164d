/**
 * The drained mailbox folder, in the drain's terms: what is waiting, fetch it,
 * stream one too large to hold, settle what was handed off, quarantine what
 * never can be. Every operation runs through one IMAP session (session.ts),
 * which reconnects and waits out throttling.
 *
 * No IMAP command is issued inside a FETCH iterator: a batch is fetched whole,
 * handed off, and only then settled, with one command per UID set.
 */
import type { Readable } from 'node:stream';
import type { FetchMessageObject } from 'imapflow';
import type { Logger } from '../errors/logger.js';
import type { Settings } from '../config/settings.js';
import { listFolder } from './listing.js';
import { ImapSession, type TokenSource } from './session.js';
import { canMoveSafely, settleAs } from './settleCommands.js';
import { internalDateOf, streamMessage, type StreamedFacts } from './streamMessage.js';
import { uidSet } from './uidSet.js';

export type { TokenSource } from './session.js';
export type { StreamedFacts } from './streamMessage.js';

export interface PendingMessage {
  uid: number;
  size: number;
  /** INTERNALDATE from the listing, when the server gave one. */
  receivedAt?: Date;
}

export interface FetchedMessage {
  uid: number;
  size: number;
  receivedAt: Date;
  source: Buffer;
}

/** What a batch FETCH brought back: whole messages, and the requested UIDs that came without a body. */
export interface FetchedBatch {
  messages: FetchedMessage[];
  missing: number[];
}

/** What the folder holds for this drain: the messages to drain, and how many flag mode skips as already \\Seen. */
export interface Inventory {
  pending: PendingMessage[];
  seenSkipped: number;
}

export class Mailbox {
  private constructor(
    private readonly session: ImapSession,
    private readonly settings: Settings,
    private readonly logger: Logger,
  ) {}

  /** Connects, authenticates with an app-only token, creates missing folders and locks the drained one. */
  static async open(settings: Settings, tokens: TokenSource, logger: Logger): Promise<Mailbox> {
    return new Mailbox(await ImapSession.open(settings, tokens, logger), settings, logger);
  }

  /** The folder's path as the server knows it (INBOX in capitals; others as LIST spells them). */
  get folder(): string {
    return this.session.folder;
  }

  get uidValidity(): number {
    return this.session.uidValidity;
  }

  /** Milliseconds this mailbox's session has waited out Exchange's throttling. */
  get throttledMs(): number {
    return this.session.throttledMs;
  }

  /** UIDs and sizes of the messages to drain, oldest first. */
  async pending(): Promise<PendingMessage[]> {
    return (await this.inventory()).pending;
  }

  /** The messages to drain, oldest first; in flag mode, \\Seen ones are not (they were settled). */
  async inventory(): Promise<Inventory> {
    const { session } = this;
    return session.run(async (client) => {
      if (!client.mailbox || client.mailbox.exists === 0) return { pending: [], seenSkipped: 0 };
      const searchAll = async () => session.succeeded(await client.search({ all: true }, { uid: true }), 'UID SEARCH') ?? [];
      const listed = await listFolder(client, searchAll, this.logger, this.folder);
      const flagMode = this.settings.afterProcessing === 'flag';
      const pending: PendingMessage[] = [];
      let seenSkipped = 0;
      for (const [uid, { size, seen, receivedAt }] of [...listed].sort(([a], [b]) => a - b)) {
        if (flagMode && seen) seenSkipped++;
        else pending.push({ uid, size, ...(receivedAt && { receivedAt }) });
      }
      return { pending, seenSkipped };
    });
  }

  /**
   * Fetches the full source of these messages (BODY.PEEK[]: reading does not
   * mark them \\Seen). Only a response for a requested UID that carries a body
   * is a message: a person flagging mail in Outlook meanwhile makes the server
   * send unsolicited FETCH responses (FLAGS only, with or without a UID), which
   * are never mistaken for an empty message. A requested UID that comes back
   * without a body is reported missing, and stays in the mailbox.
   *
   * The body's length is not compared with RFC822.SIZE: Exchange reports the
   * stored size when it does not know the RFC 822 size ([MS-OXIMAP] 2.2.25), so
   * an exact comparison would fail good mail. The IMAP literal's own length
   * framing is what proves a body whole.
   */
  async fetch(uids: number[]): Promise<FetchedBatch> {
    if (uids.length === 0) return { messages: [], missing: [] };
    const wanted = new Set(uids);
    return this.session.run(async (client) => {
      const found = new Map<number, FetchedMessage>();
      const query = { uid: true, size: true, internalDate: true, source: true };
      for await (const message of client.fetch(uidSet(uids), query, { uid: true })) {
        const { uid, source } = message;
        if (!wanted.has(uid) || !Buffer.isBuffer(source) || found.has(uid)) continue;
        found.set(uid, toFetched(message, source));
      }
      return {
        messages: [...found.values()].sort((a, b) => a.uid - b.uid),
        missing: uids.filter((uid) => !found.has(uid)),
      };
    });
  }

  /**
   * Streams one message too large to hold in memory to `sink`, with its
   * INTERNALDATE (see streamMessage.ts). After a lost session the stream starts
   * over: `sink` is called again, with the message from its first byte.
   */
  async stream<T>(uid: number, expectedSize: number, sink: (content: Readable, facts: StreamedFacts) => Promise<T>): Promise<T> {
    return this.session.run((client) => streamMessage(client, { uid, expectedSize, folder: this.folder }, sink));
  }

  /** Settles handed-off messages the way AFTER_PROCESSING says, in one command per UID set. */
  async settle(uids: number[]): Promise<void> {
    if (uids.length === 0) return;
    const { afterProcessing, processedFolder } = this.settings;
    await this.session.run(async (client) =>
      this.session.succeeded(await settleAs(client, uidSet(uids), afterProcessing, processedFolder), `settle (${afterProcessing})`),
    );
  }

  /**
   * Moves messages that cannot be handed off to FAILED_FOLDER (their raw bytes
   * are already in Blob storage). On a server with neither MOVE nor UIDPLUS (only
   * allowed in flag mode) a move would end in a plain EXPUNGE, which removes
   * every \\Deleted message in the folder, other people's too: there the
   * message is copied to FAILED_FOLDER and flagged \\Seen instead, which flag
   * mode never drains again.
   */
  async quarantine(uids: number[]): Promise<void> {
    if (uids.length === 0) return;
    const set = uidSet(uids);
    const { session } = this;
    const { failedFolder } = this.settings;
    await session.run(async (client) => {
      if (canMoveSafely(client)) return session.succeeded(await client.messageMove(set, failedFolder, { uid: true }), 'UID MOVE');
      session.succeeded(await client.messageCopy(set, failedFolder, { uid: true }), 'UID COPY');
      return session.succeeded(await client.messageFlagsAdd(set, ['\\Seen'], { uid: true }), 'UID STORE');
    });
  }

  /**
   * Moves one message of this folder to `folder`, unread first (flag mode never
   * drains a \\Seen message): `mail-drain redrive` moving quarantined mail
   * back from FAILED_FOLDER. Resolves with its new UID and the destination's
   * UIDVALIDITY when the server says them (COPYUID, RFC 4315).
   */
  async moveTo(uid: number, folder: string): Promise<{ uid?: number; uidValidity?: number }> {
    const { session } = this;
    return session.run(async (client) => {
      session.succeeded(await client.messageFlagsRemove(String(uid), ['\\Seen'], { uid: true }), 'UID STORE');
      const moved = session.succeeded(await client.messageMove(String(uid), folder, { uid: true }), 'UID MOVE');
      return { uid: moved.uidMap?.get(uid), uidValidity: moved.uidValidity === undefined ? undefined : Number(moved.uidValidity) };
    });
  }

  /** One round trip (NOOP), reconnecting if the session was lost: proves the server answers. */
  async noop(): Promise<void> {
    await this.session.run((client) => client.noop());
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

function toFetched(message: FetchMessageObject, source: Buffer): FetchedMessage {
  return {
    uid: message.uid,
    size: source.length,
    receivedAt: internalDateOf(message.internalDate) ?? new Date(),
    source,
  };
}
