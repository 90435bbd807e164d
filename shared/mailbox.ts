/**
 * The mailbox over IMAP (imapflow): implicit TLS, AUTHENTICATE XOAUTH2 with an
 * app-only token, one folder held under a lock for the whole drain.
 *
 * No IMAP command is issued inside a FETCH iterator: a batch is fetched whole,
 * handed off, and only then settled, with one command per UID set.
 */
import { ImapFlow, type FetchMessageObject } from 'imapflow';
import { explainImapError } from './explain.js';
import { imapLogger, type Logger } from './logger.js';
import type { AfterProcessing, Settings } from './settings.js';

export interface PendingMessage {
  uid: number;
  size: number;
}

export interface FetchedMessage {
  uid: number;
  size: number;
  receivedAt: Date;
  source: Buffer;
}

/** Exchange Online allows 10 minutes of inactivity; a drain never idles that long. */
const SOCKET_TIMEOUT_MS = 5 * 60_000;

export class Mailbox {
  private constructor(
    private readonly client: ImapFlow,
    private readonly release: () => void,
    private readonly settings: Settings,
    readonly uidValidity: number,
  ) {}

  /** Connects, authenticates with `accessToken`, creates missing folders and locks the drained one. */
  static async open(settings: Settings, accessToken: string, logger: Logger): Promise<Mailbox> {
    const client = new ImapFlow({
      host: settings.imap.host,
      port: settings.imap.port,
      secure: true,
      servername: settings.imap.host,
      auth: { user: settings.mailbox, accessToken },
      logger: imapLogger(logger) as never,
      // Exchange Online advertises XOAUTH2; never fall back to anything else.
      disableAutoEnable: true,
      socketTimeout: SOCKET_TIMEOUT_MS,
      clientInfo: { name: 'mail-drain' },
    });
    client.on('error', (error: unknown) => logger.debug(`imap connection error: ${(error as Error).message}`));

    const explain = (error: unknown) => explainImapError(error, settings);
    try {
      await client.connect();
    } catch (error) {
      client.close();
      throw explain(error);
    }
    try {
      await ensureFolders(client, foldersToEnsure(settings), logger);
      const lock = await client.getMailboxLock(settings.folder);
      const opened = client.mailbox;
      const uidValidity = opened ? Number(opened.uidValidity) : 0;
      return new Mailbox(client, () => lock.release(), settings, uidValidity);
    } catch (error) {
      await client.logout().catch(() => client.close());
      throw explain(error);
    }
  }

  /** UIDs and sizes of the messages to drain, oldest first. */
  async pending(): Promise<PendingMessage[]> {
    return this.run(async () => {
      const query = this.settings.afterProcessing === 'flag' ? { seen: false } : { all: true };
      const uids = (await this.client.search(query, { uid: true })) || [];
      if (uids.length === 0) return [];
      const sizes = new Map<number, number>();
      for await (const message of this.client.fetch(uids, { uid: true, size: true }, { uid: true })) {
        sizes.set(message.uid, message.size ?? 0);
      }
      return uids
        .filter((uid) => sizes.has(uid))
        .sort((a, b) => a - b)
        .map((uid) => ({ uid, size: sizes.get(uid)! }));
    });
  }

  /** Fetches the full source of these messages (BODY.PEEK[]: reading does not mark them \Seen). */
  async fetch(uids: number[]): Promise<FetchedMessage[]> {
    if (uids.length === 0) return [];
    return this.run(async () => {
      const fetched: FetchedMessage[] = [];
      const query = { uid: true, size: true, internalDate: true, source: true };
      for await (const message of this.client.fetch(uids, query, { uid: true })) {
        fetched.push(toFetched(message));
      }
      return fetched.sort((a, b) => a.uid - b.uid);
    });
  }

  /** Settles handed-off messages the way AFTER_PROCESSING says, in one command per set. */
  async settle(uids: number[]): Promise<void> {
    if (uids.length === 0) return;
    await this.run(() => settleAs(this.client, uids, this.settings.afterProcessing, this.settings.processedFolder));
  }

  /** Moves messages that cannot be handed off to FAILED_FOLDER (their raw bytes are already in Blob storage). */
  async quarantine(uids: number[]): Promise<void> {
    if (uids.length === 0) return;
    await this.run(async () => {
      await this.client.messageMove(uids, this.settings.failedFolder, { uid: true });
    });
  }

  async close(): Promise<void> {
    this.release();
    await this.client.logout().catch(() => this.client.close());
  }

  private async run<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw explainImapError(error, this.settings);
    }
  }
}

function foldersToEnsure(settings: Settings): string[] {
  return settings.afterProcessing === 'move' ? [settings.processedFolder, settings.failedFolder] : [settings.failedFolder];
}

async function ensureFolders(client: ImapFlow, paths: string[], logger: Logger): Promise<void> {
  const existing = new Set((await client.list()).map((folder) => folder.path));
  for (const path of paths.filter((p) => !existing.has(p))) {
    await client.mailboxCreate(path);
    logger.info(`Created folder "${path}"`);
  }
}

async function settleAs(client: ImapFlow, uids: number[], mode: AfterProcessing, processedFolder: string): Promise<void> {
  switch (mode) {
    case 'move':
      await client.messageMove(uids, processedFolder, { uid: true });
      return;
    case 'delete':
      // imapflow stores \Deleted and expunges just these UIDs (UID EXPUNGE, RFC 4315).
      await client.messageDelete(uids, { uid: true });
      return;
    case 'flag':
      await client.messageFlagsAdd(uids, ['\\Seen'], { uid: true });
      return;
  }
}

function toFetched(message: FetchMessageObject): FetchedMessage {
  return {
    uid: message.uid,
    size: message.size ?? message.source?.length ?? 0,
    receivedAt: message.internalDate instanceof Date ? message.internalDate : new Date(message.internalDate ?? Date.now()),
    source: message.source ?? Buffer.alloc(0),
  };
}
