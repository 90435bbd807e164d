/**
 * The in-process IMAP server of the local stack (hoodiecrow-imap), shaped like
 * Exchange Online where it matters to the drain: implicit TLS, AUTH=XOAUTH2 as
 * the only way in (LOGIN disabled), UIDPLUS and MOVE, and one set of folders
 * per mailbox: a session sees the mailbox its XOAUTH2 user names, as an app
 * with access to several shared mailboxes does.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// hoodiecrow-imap is CommonJS without types; this module is its only user.
const hoodiecrow = require('hoodiecrow-imap') as (options: object) => HoodiecrowServer;

interface HoodiecrowConnection {
  state: string;
  socket: import('node:net').Socket;
  send(response: object, description: string, parsed: object, data: unknown): void;
}
interface HoodiecrowParsed {
  tag: string;
  attributes?: { type: string; value: string }[];
}
interface HoodiecrowFolder {
  messages: { uid: number; raw: string; flags: string[]; internaldate: string }[];
  uidvalidity: number;
}
type CommandHandler = (c: HoodiecrowConnection, parsed: HoodiecrowParsed & { command: string }, data: unknown, done: () => void) => void;

/** What hoodiecrow keeps of one mailbox: the namespace tree, its index by path, and the UIDNEXT of deleted folders. */
interface FolderStore {
  storage: object;
  folderCache: Record<string, HoodiecrowFolder>;
  uidnextCache: Record<string, number>;
}

interface HoodiecrowServer extends FolderStore {
  getCommandHandler(command: string): CommandHandler | false;
  server: import('node:net').Server;
  indexFolders(): void;
  listen(port: number, host: string): void;
  close(callback: () => void): void;
  registerCapability(name: string, when?: (c: HoodiecrowConnection) => boolean): void;
  setCommandHandler(
    name: string,
    handler: (c: HoodiecrowConnection, parsed: HoodiecrowParsed, data: unknown, done: () => void) => void,
  ): void;
  appendMessage(folder: string, flags: string[], internaldate: string | Date, raw: string): void;
}

/**
 * Decides whether `token` lets `user` in: undefined when it does, else the
 * reason. 'not connected' lets the login succeed and then answers every command
 * as Exchange does for a mailbox the app has no permission on.
 */
export type TokenCheck = (user: string, token: string) => string | undefined;

/** Exchange Online's words for the situations it has no code for (recorded from its sessions). */
export const EXCHANGE_RESPONSES = {
  authenticateFailed: 'AUTHENTICATE failed.',
  notConnected: 'User is authenticated but not connected.',
  throttled: (ms: number) => `Request is throttled. Suggested Backoff Time: ${ms} milliseconds`,
  tokenExpired: 'Session invalidated - AccessTokenExpired',
} as const;

/** What the server answers to a command instead of running it: a tagged NO/BAD, or an untagged BYE that ends the session. */
export type ScriptedResponse = { kind: 'NO' | 'BAD' | 'BYE'; text: string };
/**
 * Consulted before every command of an authenticated session, with its
 * arguments as text (e.g. "1:3 (UID BODY.PEEK[])"); undefined runs the command.
 */
export type CommandInterceptor = (command: string, args: string) => ScriptedResponse | undefined;

export interface SeedMessage {
  raw: Buffer;
  internalDate?: Date;
  flags?: string[];
}

/** A mailbox to create at start, by the address its sessions log in with (any case), and what its INBOX holds. */
export interface SeedMailbox {
  address: string;
  messages?: SeedMessage[];
}

export interface LocalImapServer {
  host: string;
  port: number;
  /**
   * Messages in a folder of `mailbox` (by default the first mailbox the server
   * was started with), by UID order.
   */
  messages(folder: string, mailbox?: string): { uid: number; raw: Buffer; flags: string[] }[];
  append(folder: string, message: SeedMessage, mailbox?: string): void;
  /** Reasons the server refused a login, in order (never the token). */
  refusals: string[];
  /** Replaces the interceptor for the commands of authenticated sessions (undefined: none). */
  intercept(interceptor: CommandInterceptor | undefined): void;
  /** How many sessions have logged in. */
  logins: number;
  close(): Promise<void>;
}

// RFC 3501 date-time, as hoodiecrow stores INTERNALDATE.
function imapDate(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}-${months[date.getUTCMonth()]}-${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** The TokenCheck reason that makes a login succeed into a session that can do nothing. */
export const NOT_CONNECTED = 'not connected';

const notConnected = new WeakSet<HoodiecrowConnection>();
/** The mailbox each logged-in session opened: its XOAUTH2 user. */
const sessionMailbox = new WeakMap<HoodiecrowConnection, string>();

/**
 * XOAUTH2 (SASL-IR only, as Exchange Online is used): the initial response is
 * base64("user=" user ^A "auth=Bearer " token ^A ^A). Failures answer with
 * Exchange's own words, "AUTHENTICATE failed.".
 */
function xoauth2(checkToken: TokenCheck, refusals: string[], stats: { logins: number }) {
  return (server: HoodiecrowServer) => {
    server.registerCapability('AUTH=XOAUTH2', (c) => c.state === 'Not Authenticated');
    server.setCommandHandler('AUTHENTICATE XOAUTH2', (connection, parsed, data, done) => {
      const reply = (command: 'OK' | 'NO' | 'BAD', text: string) =>
        connection.send(
          { tag: parsed.tag, command, attributes: [{ type: 'TEXT', value: text }] },
          `AUTHENTICATE XOAUTH2 ${command}`,
          parsed,
          data,
        );
      const initial = parsed.attributes?.[0]?.value;
      if (connection.state !== 'Not Authenticated' || !initial) {
        reply('BAD', 'Command Error. 12');
        return done();
      }
      const match = /^user=([^\x01]*)\x01auth=Bearer ([^\x01]+)\x01\x01$/.exec(
        Buffer.from(initial, 'base64').toString('utf8'),
      );
      const reason = match ? checkToken(match[1]!, match[2]!) : 'malformed XOAUTH2 initial response';
      if (reason === NOT_CONNECTED) {
        // Exchange accepts the token of an app without mailbox permission, then refuses every command.
        refusals.push(reason);
        notConnected.add(connection);
        sessionMailbox.set(connection, match![1]!);
        connection.state = 'Authenticated';
        reply('OK', 'AUTHENTICATE completed.');
      } else if (reason) {
        refusals.push(reason);
        reply('NO', EXCHANGE_RESPONSES.authenticateFailed);
      } else {
        stats.logins++;
        sessionMailbox.set(connection, match![1]!);
        connection.state = 'Authenticated';
        reply('OK', 'AUTHENTICATE completed.');
      }
      return done();
    });
  };
}

/**
 * Starts the server on 127.0.0.1 with a free port, TLS from `tls`. Every
 * mailbox has INBOX and `folders`; one that a session opens without being
 * seeded starts empty, as a granted mailbox with no mail.
 */
export async function startLocalImapServer(options: {
  tls: { key: string; cert: string };
  checkToken: TokenCheck;
  folders?: string[];
  /** The first is the mailbox `messages` and `append` mean when they name none. */
  mailboxes: [SeedMailbox, ...SeedMailbox[]];
  /** UIDVALIDITY of INBOX (default 1): a new value is what a renumbered folder looks like. */
  uidValidity?: number;
}): Promise<LocalImapServer> {
  const refusals: string[] = [];
  const stats = { logins: 0 };
  let interceptor: CommandInterceptor | undefined;
  // Fresh objects for every mailbox: hoodiecrow fills its folders in place.
  const emptyStorage = () => ({
    INBOX: { messages: [], uidvalidity: options.uidValidity ?? 1 },
    '': { separator: '/', folders: Object.fromEntries((options.folders ?? []).map((name) => [name, {}])) },
  });
  const server = hoodiecrow({
    secureConnection: true,
    credentials: options.tls,
    plugins: [
      'ID',
      'SASL-IR',
      xoauth2(options.checkToken, refusals, stats),
      'LOGINDISABLED',
      'NAMESPACE',
      'ENABLE',
      'UIDPLUS',
      'MOVE',
      'SPECIAL-USE',
      'UNSELECT',
      'LITERALPLUS',
    ],
    id: { name: 'mail-drain local IMAP', vendor: 'hoodiecrow' },
    storage: emptyStorage(),
  });

  // Hoodiecrow has one set of folders: the server's storage, folderCache and uidnextCache.
  // Each mailbox keeps its own, and the server is switched to a session's mailbox before
  // each of its commands. That is enough because every handler runs to completion on
  // in-memory data before the next command of any session starts (no IDLE here).
  const stores = new Map<string, FolderStore>();
  const storeOf = (address: string): FolderStore => {
    const key = address.toLowerCase();
    let store = stores.get(key);
    if (!store) {
      if (stores.size > 0) {
        // Indexed the way hoodiecrow indexes its storage at start.
        Object.assign(server, { storage: emptyStorage(), uidnextCache: {} });
        server.indexFolders();
      }
      store = { storage: server.storage, folderCache: server.folderCache, uidnextCache: server.uidnextCache };
      stores.set(key, store);
    }
    return store;
  };
  const switchTo = (address: string) => Object.assign(server, storeOf(address));
  const defaultMailbox = options.mailboxes[0].address;

  interceptCommands(server, () => interceptor, (connection) => {
    const mailbox = sessionMailbox.get(connection);
    if (mailbox !== undefined) switchTo(mailbox);
  });
  for (const mailbox of options.mailboxes) {
    switchTo(mailbox.address);
    for (const message of mailbox.messages ?? []) appendTo(server, 'INBOX', message);
  }

  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;

  return {
    host: 'localhost',
    port,
    refusals,
    intercept: (next) => {
      interceptor = next;
    },
    get logins() {
      return stats.logins;
    },
    messages(folder, mailbox = defaultMailbox) {
      const box = storeOf(mailbox).folderCache[folder.toUpperCase() === 'INBOX' ? 'INBOX' : folder];
      return (box?.messages ?? []).map((m) => ({
        uid: m.uid,
        raw: Buffer.from(m.raw, 'binary'),
        flags: [...m.flags],
      }));
    },
    append(folder, message, mailbox = defaultMailbox) {
      switchTo(mailbox);
      appendTo(server, folder, message);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open client connections would keep close() waiting.
        (server.server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/**
 * Runs `beforeCommand` ahead of every command, and answers commands of
 * authenticated sessions as Exchange does when it throttles, ends a session,
 * or refuses a mailbox.
 */
function interceptCommands(
  server: HoodiecrowServer,
  current: () => CommandInterceptor | undefined,
  beforeCommand: (connection: HoodiecrowConnection) => void,
): void {
  const original = server.getCommandHandler.bind(server);
  server.getCommandHandler = (command) => {
    const handler = original(command);
    if (!handler) return handler;
    return (connection, parsed, data, done) => {
      beforeCommand(connection);
      const upper = command.toUpperCase();
      const scripted =
        connection.state === 'Not Authenticated' || upper === 'LOGOUT'
          ? undefined
          : notConnected.has(connection)
            ? ({ kind: 'BAD', text: EXCHANGE_RESPONSES.notConnected } as const)
            : current()?.(upper, argumentText(parsed.attributes));
      if (!scripted) return handler(connection, parsed, data, done);
      if (scripted.kind === 'BYE') {
        connection.send({ tag: '*', command: 'BYE', attributes: [{ type: 'TEXT', value: scripted.text }] }, 'BYE', parsed, data);
        connection.socket.end();
      } else {
        connection.send(
          { tag: parsed.tag, command: scripted.kind, attributes: [{ type: 'TEXT', value: scripted.text }] },
          scripted.kind,
          parsed,
          data,
        );
      }
      return done();
    };
  };
}

/** A command's parsed arguments back as text, for interceptors to match on. */
function argumentText(attributes: unknown): string {
  if (!Array.isArray(attributes)) return '';
  return attributes
    .map((a: unknown) => (Array.isArray(a) ? `(${argumentText(a)})` : String((a as { value?: unknown } | null)?.value ?? '')))
    .join(' ');
}

function appendTo(server: HoodiecrowServer, folder: string, message: SeedMessage): void {
  // hoodiecrow keeps message sources as binary strings.
  server.appendMessage(
    folder,
    message.flags ?? [],
    imapDate(message.internalDate ?? new Date()),
    message.raw.toString('binary'),
  );
}
