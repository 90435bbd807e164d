/**
 * One IMAP session on the drained folder (imapflow): implicit TLS,
 * AUTHENTICATE XOAUTH2 with an app-only token, the folder held under a lock.
 * It reconnects with a new token when the session ends mid-command, and waits
 * when Exchange throttles; the mailbox's operations run through it.
 */
import type { AccessToken } from '@azure/identity';
import { ImapFlow } from 'imapflow';
import { DrainError } from '../errors/errors.js';
import { explainImapError } from '../errors/explain.js';
import type { Logger } from '../errors/logger.js';
import type { Settings } from '../config/settings.js';
import { canonicalPath, ensureFolders } from './folders.js';
import { imapLogger } from './imapLogger.js';
import { requireSafeSettle } from './settleCommands.js';

/** Where the session gets its access tokens; `fresh` skips any cache. */
export type TokenSource = (options: { fresh: boolean }) => Promise<AccessToken>;

/** Exchange Online allows 10 minutes of inactivity; a drain never idles that long. */
const SOCKET_TIMEOUT_MS = 5 * 60_000;
/** Reconnect this long before the token expires, rather than be cut off mid-command. */
const TOKEN_REFRESH_MARGIN_MS = 2 * 60_000;
/** Reconnects after a session ends mid-command (expired token, lost connection), per command sequence. */
const MAX_RECONNECTS = 2;
/** Throttled commands are tried again this often, waiting as Exchange asks, up to MAX_THROTTLE_WAIT_MS each. */
const MAX_THROTTLE_RETRIES = 2;
const MAX_THROTTLE_WAIT_MS = 30_000;

export class ImapSession {
  private client!: ImapFlow;
  private release: () => void = () => {};
  private tokenExpiresAt = 0;
  /** The last command failure imapflow reported: it returns false from failed commands instead of throwing. */
  private lastCommandError: unknown;
  /** The command sequences asked for, one after another. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The folder's UIDVALIDITY; a session that finds another one refuses to go on. */
  uidValidity = 0;
  /** The folder's path as the server knows it (INBOX in capitals; others as LIST spells them). */
  folder: string;
  /** Milliseconds waited because Exchange throttled a command, imapflow's own waits included. */
  throttledMs = 0;

  private constructor(
    private readonly settings: Settings,
    private readonly tokens: TokenSource,
    private readonly logger: Logger,
  ) {
    this.folder = settings.folder;
  }

  /** Connects, authenticates, refuses an unsafe server, creates missing folders and locks the drained one. */
  static async open(settings: Settings, tokens: TokenSource, logger: Logger): Promise<ImapSession> {
    const session = new ImapSession(settings, tokens, logger);
    await session.connect(false);
    return session;
  }

  /**
   * Runs one command sequence, after those already asked for: the drain
   * overlaps steps, and a sequence (a FETCH and its iteration, a settle, a
   * reconnect) must not interleave with another on the one session. Exchange
   * ends a session whose token expired ("BYE ... AccessTokenExpired"): then the
   * session reconnects with a new token and runs the sequence again. A throttled
   * sequence runs again after the wait Exchange suggests, when it is short.
   * Every sequence given here must be safe to repeat, and must not call run().
   */
  run<T>(action: (client: ImapFlow) => Promise<T>): Promise<T> {
    const result = this.queue.then(() => this.runNow(action));
    this.queue = result.catch(() => {});
    return result;
  }

  private async runNow<T>(action: (client: ImapFlow) => Promise<T>): Promise<T> {
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
        const sessionLost = explained.code === 'IMAP_TOKEN_EXPIRED' || explained.code === 'IMAP_UNREACHABLE' || explained.code === 'IMAP_CONNECTION_LOST';
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
          this.throttledMs += waited + wait;
          this.logger.info(`Exchange is throttling; trying again in ${wait} ms.`);
          await new Promise((resolve) => setTimeout(resolve, wait));
        } else {
          throw explained;
        }
      }
    }
  }

  /** The result of an imapflow command that returns false on failure, or the failure it reported. */
  succeeded<T>(result: T | false, command: string): T {
    if (result !== false) return result;
    const error = this.lastCommandError ?? new Error(`${command} failed`);
    this.lastCommandError = undefined;
    throw error;
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
      this.folder = folder;
      this.tokenExpiresAt = token.expiresOnTimestamp;
    } catch (error) {
      await client.logout().catch(() => client.close());
      throw explainImapError(error, this.settings);
    }
  }

  private async reconnect(fresh: boolean): Promise<void> {
    this.release();
    this.release = () => {};
    this.client.close();
    await this.connect(fresh);
  }
}

function foldersToEnsure(settings: Settings): string[] {
  return settings.afterProcessing === 'move' ? [settings.processedFolder, settings.failedFolder] : [settings.failedFolder];
}
