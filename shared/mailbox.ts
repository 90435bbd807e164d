/**
 * The mailbox over IMAP (imapflow): implicit TLS, AUTHENTICATE XOAUTH2 with an
 * app-only token, one folder held under a lock for the whole drain.
 *
 * No IMAP command is issued inside a FETCH iterator: a batch is fetched whole,
 * handed off, and only then settled, with one command per UID set.
 */
import type { Readable } from 'node:stream';
import type { AccessToken } from '@azure/identity';
import { ImapFlow, type FetchMessageObject } from 'imapflow';
import { DrainError } from './errors.js';
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

/** Where the mailbox gets its access tokens; `fresh` skips any cache. */
export type TokenSource = (options: { fresh: boolean }) => Promise<AccessToken>;

/** Reconnect this long before the token expires, rather than be cut off mid-command. */
const TOKEN_REFRESH_MARGIN_MS = 2 * 60_000;
/** Reconnects after a session ends mid-command (expired token, lost connection), per command sequence. */
const MAX_RECONNECTS = 2;
/** Throttled commands are tried again this often, waiting as Exchange asks, up to MAX_THROTTLE_WAIT_MS each. */
const MAX_THROTTLE_RETRIES = 2;
const MAX_THROTTLE_WAIT_MS = 30_000;

export class Mailbox {
  private client!: ImapFlow;
  private release: () => void = () => {};
  private tokenExpiresAt = 0;
  /** The last command error imapflow reported: it returns false from failed commands instead of throwing. */
  private lastCommandError: unknown;
  uidValidity = 0;

  private constructor(
    private readonly settings: Settings,
    private readonly tokens: TokenSource,
    private readonly logger: Logger,
  ) {}

  /** Connects, authenticates with an app-only token, creates missing folders and locks the drained one. */
  static async open(settings: Settings, tokens: TokenSource, logger: Logger): Promise<Mailbox> {
    const mailbox = new Mailbox(settings, tokens, logger);
    await mailbox.connect(false);
    return mailbox;
  }

  /** UIDs and sizes of the messages to drain, oldest first. */
  async pending(): Promise<PendingMessage[]> {
    return this.run(async (client) => {
      const query = this.settings.afterProcessing === 'flag' ? { seen: false } : { all: true };
      const uids = this.succeeded(await client.search(query, { uid: true }), 'UID SEARCH') ?? [];
      if (uids.length === 0) return [];
      const sizes = new Map<number, number>();
      for await (const message of client.fetch(uids, { uid: true, size: true }, { uid: true })) {
        sizes.set(message.uid, message.size ?? 0);
      }
      return uids
        .filter((uid) => sizes.has(uid))
        .sort((a, b) => a - b)
        .map((uid) => ({ uid, size: sizes.get(uid)! }));
    });
  }

  /** Fetches the full source of these messages (BODY.PEEK[]: reading does not mark them \\Seen). */
  async fetch(uids: number[]): Promise<FetchedMessage[]> {
    if (uids.length === 0) return [];
    return this.run(async (client) => {
      const fetched: FetchedMessage[] = [];
      const query = { uid: true, size: true, internalDate: true, source: true };
      for await (const message of client.fetch(uids, query, { uid: true })) {
        fetched.push(toFetched(message));
      }
      return fetched.sort((a, b) => a.uid - b.uid);
    });
  }

  /**
   * Streams one message's source to `sink` (BODY.PEEK[] through imapflow's
   * download): for messages too large to hold in memory.
   */
  async stream<T>(uid: number, sink: (content: Readable) => Promise<T>): Promise<T> {
    return this.run(async (client) => {
      const { content } = await client.download(String(uid), undefined, { uid: true });
      if (!content) throw new Error(`UID ${uid} is no longer in ${this.settings.folder}`);
      return sink(content);
    });
  }

  /** Settles handed-off messages the way AFTER_PROCESSING says, in one command per set. */
  async settle(uids: number[]): Promise<void> {
    if (uids.length === 0) return;
    await this.run(async (client) =>
      this.succeeded(await settleAs(client, uids, this.settings.afterProcessing, this.settings.processedFolder), `settle (${this.settings.afterProcessing})`),
    );
  }

  /** Moves messages that cannot be handed off to FAILED_FOLDER (their raw bytes are already in Blob storage). */
  async quarantine(uids: number[]): Promise<void> {
    if (uids.length === 0) return;
    await this.run(async (client) => this.succeeded(await client.messageMove(uids, this.settings.failedFolder, { uid: true }), 'UID MOVE'));
  }

  async close(): Promise<void> {
    this.release();
    await this.client.logout().catch(() => this.client.close());
  }

  private async connect(fresh: boolean): Promise<void> {
    const token = await this.tokens({ fresh });
    const client = new ImapFlow({
      host: this.settings.imap.host,
      port: this.settings.imap.port,
      secure: true,
      servername: this.settings.imap.host,
      auth: { user: this.settings.mailbox, accessToken: token.token },
      logger: imapLogger(this.logger, (error) => (this.lastCommandError = error)) as never,
      disableAutoEnable: true,
      socketTimeout: SOCKET_TIMEOUT_MS,
      clientInfo: { name: 'mail-drain' },
    });
    client.on('error', (error: unknown) => this.logger.debug(`imap connection error: ${(error as Error).message}`));
    try {
      await client.connect();
    } catch (error) {
      client.close();
      throw explainImapError(error, this.settings);
    }
    try {
      await ensureFolders(client, foldersToEnsure(this.settings), this.logger);
      const lock = await client.getMailboxLock(this.settings.folder);
      const uidValidity = Number(client.mailbox ? client.mailbox.uidValidity : 0);
      if (this.uidValidity !== 0 && uidValidity !== this.uidValidity) {
        lock.release();
        throw new DrainError(
          'IMAP_UIDVALIDITY_CHANGED',
          `UIDVALIDITY of ${this.settings.folder} changed from ${this.uidValidity} to ${uidValidity} during the drain.`,
          'Nothing to do: the next run drains the folder afresh; messages already handed off but not settled are handed off again under new ids.',
        );
      }
      this.client = client;
      this.release = () => lock.release();
      this.uidValidity = uidValidity;
      this.tokenExpiresAt = token.expiresOnTimestamp;
    } catch (error) {
      await client.logout().catch(() => client.close());
      throw explainImapError(error, this.settings);
    }
  }

  /** The result of an imapflow command that returns false on failure, or the failure it logged. */
  private succeeded<T>(result: T | false, command: string): T {
    if (result !== false) return result;
    const error = this.lastCommandError ?? new Error(`${command} failed`);
    this.lastCommandError = undefined;
    throw error;
  }

  private async reconnect(fresh: boolean): Promise<void> {
    this.release();
    this.release = () => {};
    this.client.close();
    await this.connect(fresh);
  }

  /**
   * Runs one command sequence. Exchange ends a session whose token expired
   * ("BYE ... AccessTokenExpired"): then the mailbox reconnects with a new token
   * and runs the sequence again. A throttled sequence runs again after the wait
   * Exchange suggests, when it is short. Every sequence here is safe to repeat.
   */
  private async run<T>(action: (client: ImapFlow) => Promise<T>): Promise<T> {
    if (Date.now() > this.tokenExpiresAt - TOKEN_REFRESH_MARGIN_MS) {
      this.logger.info('The access token is about to expire; reconnecting with a new one.');
      await this.reconnect(false);
    }
    let reconnects = 0;
    let throttled = 0;
    for (;;) {
      try {
        this.lastCommandError = undefined;
        return await action(this.client);
      } catch (error) {
        const explained = explainImapError(error, this.settings);
        // A session can end mid-command: Exchange's BYE for an expired token, or a dropped
        // connection (when the socket closes first, imapflow loses the BYE's reason). Either
        // way: a new session with a new token, and the command sequence again.
        const sessionLost = explained.code === 'IMAP_TOKEN_EXPIRED' || explained.code === 'IMAP_UNREACHABLE';
        if (sessionLost && reconnects++ < MAX_RECONNECTS) {
          this.logger.info(
            explained.code === 'IMAP_TOKEN_EXPIRED'
              ? 'Exchange ended the session because the token expired; reconnecting with a new token.'
              : `The IMAP connection was lost (${explained.message}); reconnecting with a new token.`,
          );
          await this.reconnect(true);
        } else if (explained.code === 'IMAP_THROTTLED' && throttled++ < MAX_THROTTLE_RETRIES && (explained.retryAfterMs ?? 0) <= MAX_THROTTLE_WAIT_MS) {
          // imapflow has usually waited already (it records throttleWaited); otherwise wait here.
          const waited = (error as { throttleWaited?: number }).throttleWaited ?? 0;
          const wait = Math.max(0, (explained.retryAfterMs ?? 0) - waited);
          this.logger.info(`Exchange is throttling; trying again in ${wait} ms.`);
          await new Promise((resolve) => setTimeout(resolve, wait));
        } else {
          throw explained;
        }
      }
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

/** False when the server refused (imapflow's convention). */
async function settleAs(client: ImapFlow, uids: number[], mode: AfterProcessing, processedFolder: string): Promise<unknown> {
  switch (mode) {
    case 'move':
      return client.messageMove(uids, processedFolder, { uid: true });
    case 'delete':
      // imapflow stores \Deleted and expunges just these UIDs (UID EXPUNGE, RFC 4315).
      return client.messageDelete(uids, { uid: true });
    case 'flag':
      return client.messageFlagsAdd(uids, ['\\Seen'], { uid: true });
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
