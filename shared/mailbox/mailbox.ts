/**
 * The mailbox over IMAP (imapflow): implicit TLS, AUTHENTICATE XOAUTH2 with an
 * app-only token, one folder held under a lock for the whole drain.
 *
 * No IMAP command is issued inside a FETCH iterator: a batch is fetched whole,
 * handed off, and only then settled, with one command per UID set.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { AccessToken } from '@azure/identity';
import { ImapFlow, type FetchMessageObject } from 'imapflow';
import { DrainError } from '../errors/errors.js';
import { explainImapError } from '../errors/explain.js';
import { imapLogger, type Logger } from '../errors/logger.js';
import type { AfterProcessing, Settings } from '../config/settings.js';

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

/**
 * Partial fetches of this size stream a message too large to hold in memory
 * (imapflow's download uses the same window).
 */
const STREAM_CHUNK_BYTES = 64 * 1024;
/** UIDs per size-listing command when the listing of the whole folder is refused. */
const SIZE_CHUNK = 200;

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
  private canonicalFolder: string;

  private constructor(
    private readonly settings: Settings,
    private readonly tokens: TokenSource,
    private readonly logger: Logger,
  ) {
    this.canonicalFolder = settings.folder;
  }

  /** Connects, authenticates with an app-only token, creates missing folders and locks the drained one. */
  static async open(settings: Settings, tokens: TokenSource, logger: Logger): Promise<Mailbox> {
    const mailbox = new Mailbox(settings, tokens, logger);
    await mailbox.connect(false);
    return mailbox;
  }

  /** UIDs and sizes of the messages to drain, oldest first. */
  async pending(): Promise<PendingMessage[]> {
    return (await this.inventory()).pending;
  }

  /**
   * Lists the folder with one `UID FETCH 1:* (UID RFC822.SIZE FLAGS)`: a range,
   * never a list of UIDs, so the command stays short however large the backlog
   * (Dovecot refuses arguments past about 14,000 UIDs, Exchange at about 40,000
   * characters). Responses the server sends unasked (another client's flag
   * changes) carry no size and are not messages to drain.
   */
  async inventory(): Promise<Inventory> {
    return this.run(async (client) => {
      if (!client.mailbox || client.mailbox.exists === 0) return { pending: [], seenSkipped: 0 };
      let listed: Map<number, { size: number; seen: boolean }>;
      try {
        listed = await listSizes(client, '1:*');
      } catch (error) {
        if (!isRefusal(error)) throw error;
        this.logger.warn(`The server refused to list ${this.folder} at once (${describeImap(error)}); listing it in parts.`);
        listed = await this.listInParts(client);
      }
      const flagMode = this.settings.afterProcessing === 'flag';
      const pending: PendingMessage[] = [];
      let seenSkipped = 0;
      for (const [uid, { size, seen }] of [...listed].sort(([a], [b]) => a - b)) {
        if (flagMode && seen) seenSkipped++;
        else pending.push({ uid, size });
      }
      return { pending, seenSkipped };
    });
  }

  /**
   * The fallback listing: UIDs by UID SEARCH, sizes in chunks, and one UID at a
   * time where a chunk is refused. A message whose size the server will not
   * tell is listed with size 0: it is fetched alone, where its own failure is
   * counted against it and cannot hold up the rest.
   */
  private async listInParts(client: ImapFlow): Promise<Map<number, { size: number; seen: boolean }>> {
    const uids = this.succeeded(await client.search({ all: true }, { uid: true }), 'UID SEARCH') ?? [];
    const listed = new Map<number, { size: number; seen: boolean }>();
    for (let i = 0; i < uids.length; i += SIZE_CHUNK) {
      const chunk = uids.slice(i, i + SIZE_CHUNK);
      try {
        for (const [uid, entry] of await listSizes(client, uidSet(chunk), new Set(chunk))) listed.set(uid, entry);
      } catch (error) {
        if (!isRefusal(error)) throw error;
        for (const uid of chunk) {
          const one = await listSizes(client, String(uid), new Set([uid])).catch((e: unknown) => {
            if (!isRefusal(e)) throw e;
            return new Map([[uid, { size: 0, seen: false }]]);
          });
          for (const [u, entry] of one) listed.set(u, entry);
        }
      }
    }
    return listed;
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
    return this.run(async (client) => {
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
   * Streams one message's source to `sink` in partial fetches
   * (BODY.PEEK[]<offset.length>), for messages too large to hold in memory.
   *
   * Not imapflow's download(): it takes the first FETCH response of each chunk,
   * which may be another message's unsolicited flag update, and ends the stream
   * quietly when a chunk comes without a body, so a truncated message would be
   * stored as if whole. Here every chunk must be this UID's and carry bytes;
   * the message ends only with a chunk shorter than asked for. Anything else
   * fails the stream, and the message stays in the mailbox.
   */
  async stream<T>(uid: number, expectedSize: number, sink: (content: Readable) => Promise<T>): Promise<T> {
    return this.run(async (client) => {
      const content = new PassThrough({ highWaterMark: STREAM_CHUNK_BYTES * 2 });
      const result = sink(content);
      // The upload may fail while a chunk is still being fetched: handled here, awaited below.
      result.catch(() => {});
      // A server that ignores partial fetches would send the whole message on every call.
      const ceiling = expectedSize * 2 + STREAM_CHUNK_BYTES;
      try {
        for (let offset = 0; ; ) {
          const chunk = await this.chunkOf(client, uid, offset);
          if (chunk.length > STREAM_CHUNK_BYTES && offset > 0) throw new Error(`the server ignored the partial FETCH of UID ${uid} at byte ${offset}`);
          offset += chunk.length;
          if (offset > ceiling) throw new Error(`UID ${uid} streamed past twice its RFC822.SIZE (${expectedSize} bytes)`);
          if (!content.write(chunk)) await waitForDrain(content);
          if (chunk.length !== STREAM_CHUNK_BYTES) break;
        }
        content.end();
      } catch (error) {
        content.destroy(error as Error);
        await result.catch(() => {});
        throw error;
      }
      return result;
    });
  }

  private async chunkOf(client: ImapFlow, uid: number, offset: number): Promise<Buffer> {
    const query = { uid: true, source: { start: offset, maxLength: STREAM_CHUNK_BYTES } };
    let chunk: Buffer | undefined;
    let refused: unknown;
    try {
      for await (const message of client.fetch(String(uid), query, { uid: true })) {
        if (message.uid === uid && Buffer.isBuffer(message.source) && chunk === undefined) chunk = message.source;
      }
    } catch (error) {
      if (!isRefusal(error)) throw error;
      refused = error;
    }
    if (chunk === undefined) {
      throw new DrainError(
        'IMAP_MESSAGE_UNREADABLE',
        `The server returned no body for UID ${uid} at byte ${offset} of ${this.folder}` +
          (refused ? ` (${describeImap(refused)}).` : ': it was removed meanwhile, or the server cannot read it.'),
        { folder: this.folder },
        { cause: refused },
      );
    }
    return chunk;
  }

  /** Settles handed-off messages the way AFTER_PROCESSING says, in one command per UID set. */
  async settle(uids: number[]): Promise<void> {
    if (uids.length === 0) return;
    await this.run(async (client) =>
      this.succeeded(await settleAs(client, uidSet(uids), this.settings.afterProcessing, this.settings.processedFolder), `settle (${this.settings.afterProcessing})`),
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
    await this.run(async (client) => {
      if (canMoveSafely(client)) return this.succeeded(await client.messageMove(set, this.settings.failedFolder, { uid: true }), 'UID MOVE');
      this.succeeded(await client.messageCopy(set, this.settings.failedFolder, { uid: true }), 'UID COPY');
      return this.succeeded(await client.messageFlagsAdd(set, ['\\Seen'], { uid: true }), 'UID STORE');
    });
  }

  /** One round trip (NOOP), reconnecting if the session was lost: proves the server answers. */
  async noop(): Promise<void> {
    await this.run((client) => client.noop());
  }

  /** The folder's path as the server knows it (INBOX in capitals; others as LIST spells them). */
  get folder(): string {
    return this.canonicalFolder;
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
      // Before anything is touched: a server that cannot settle safely is refused.
      requireSafeSettle(client, this.settings);
      const folders = await ensureFolders(client, foldersToEnsure(this.settings), this.logger);
      const folder = canonicalPath(this.settings.folder, folders);
      const lock = await client.getMailboxLock(folder);
      const uidValidity = Number(client.mailbox ? client.mailbox.uidValidity : 0);
      if (this.uidValidity !== 0 && uidValidity !== this.uidValidity) {
        lock.release();
        throw new DrainError(
          'IMAP_UIDVALIDITY_CHANGED',
          `UIDVALIDITY of ${this.settings.folder} changed from ${this.uidValidity} to ${uidValidity} during the drain.`,
          { folder: this.settings.folder },
        );
      }
      this.client = client;
      this.release = () => lock.release();
      this.uidValidity = uidValidity;
      this.canonicalFolder = folder;
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
    } else if (!this.client.usable) {
      // A session lost by an earlier command: a closed imapflow client answers FETCH with nothing at all.
      this.logger.info('The IMAP session was lost earlier; reconnecting with a new token.');
      await this.reconnect(true);
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
        const sessionLost = explained.code === 'IMAP_TOKEN_EXPIRED' || explained.code === 'IMAP_CONNECTION_LOST' || explained.code === 'IMAP_UNREACHABLE';
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

/** Creates the missing folders; returns every folder path the server lists. */
async function ensureFolders(client: ImapFlow, paths: string[], logger: Logger): Promise<string[]> {
  const existing = (await client.list()).map((folder) => folder.path);
  for (const path of paths.filter((p) => !existing.includes(p))) {
    try {
      await client.mailboxCreate(path);
      logger.info(`Created folder "${path}"`);
    } catch (error) {
      // Two drains starting at once both find it missing; the second's CREATE fails. Fine if it exists now.
      if (!(await client.list()).some((folder) => folder.path === path)) throw error;
    }
  }
  return existing;
}

/**
 * One folder, one name: INBOX is case-insensitive (RFC 3501 5.1), and Exchange
 * treats every folder name so. Without this, "inbox" and "INBOX" would be two
 * leases and two ids for the same mail. A folder typed exactly as listed is
 * kept; otherwise the one listed folder that differs only in case is used.
 */
export function canonicalPath(folder: string, listed: string[]): string {
  if (/^inbox$/i.test(folder)) return 'INBOX';
  if (listed.includes(folder)) return folder;
  const matches = listed.filter((path) => path.toLowerCase() === folder.toLowerCase());
  return matches.length === 1 ? matches[0]! : folder;
}

/** MOVE (RFC 6851), or UIDPLUS (RFC 4315) for imapflow's COPY + UID EXPUNGE fallback. */
function canMoveSafely(client: ImapFlow): boolean {
  return client.capabilities.has('MOVE') || client.capabilities.has('UIDPLUS');
}

/**
 * Without UIDPLUS, imapflow's delete (and its MOVE fallback) ends in a plain
 * EXPUNGE, which removes every \\Deleted message in the folder, not only the
 * drain's: a person's mail flagged for deletion in Outlook would go with it.
 */
function requireSafeSettle(client: ImapFlow, settings: Settings): void {
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

/** False when the server refused (imapflow's convention). */
async function settleAs(client: ImapFlow, uids: string, mode: AfterProcessing, processedFolder: string): Promise<unknown> {
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

/**
 * A UID set in ranges ("1:25,30"): a batch of consecutive UIDs is one short
 * argument, however many there are.
 */
export function uidSet(uids: number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(i === j ? String(sorted[i]) : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return ranges.join(',');
}

/** UID, size and \\Seen of every message in `range`; responses without a size (unsolicited flag updates) are skipped. */
async function listSizes(client: ImapFlow, range: string, only?: Set<number>): Promise<Map<number, { size: number; seen: boolean }>> {
  const listed = new Map<number, { size: number; seen: boolean }>();
  for await (const message of client.fetch(range, { uid: true, size: true, flags: true }, { uid: true })) {
    if (typeof message.uid !== 'number' || typeof message.size !== 'number' || listed.has(message.uid)) continue;
    if (only && !only.has(message.uid)) continue;
    listed.set(message.uid, { size: message.size, seen: message.flags?.has('\\Seen') ?? false });
  }
  return listed;
}

/** The server answered NO or BAD to a command (rather than the session failing). */
export function isRefusal(error: unknown): boolean {
  for (let e = error as { responseStatus?: string; cause?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as typeof e, i++) {
    if (e.responseStatus === 'NO' || e.responseStatus === 'BAD') return true;
  }
  return false;
}

/** The server's answer, first line only: it is the server's text, and goes into our messages. */
function describeImap(error: unknown): string {
  const e = error as { responseText?: string; message?: string };
  return (e.responseText || e.message || String(error)).split(/[\r\n]/)[0]!;
}

function waitForDrain(stream: PassThrough): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', done);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the upload stopped reading the message'));
    stream.once('drain', onDrain);
    stream.once('close', onClose);
    stream.once('error', done);
  });
}

function toFetched(message: FetchMessageObject, source: Buffer): FetchedMessage {
  return {
    uid: message.uid,
    size: source.length,
    receivedAt: message.internalDate instanceof Date ? message.internalDate : new Date(message.internalDate ?? Date.now()),
    source,
  };
}
