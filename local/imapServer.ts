/**
 * The in-process IMAP server of the local stack (hoodiecrow-imap), shaped like
 * Exchange Online where it matters to the drain: implicit TLS, AUTH=XOAUTH2 as
 * the only way in (LOGIN disabled), UIDPLUS and MOVE.
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

interface HoodiecrowServer {
  getCommandHandler(command: string): CommandHandler | false;
  server: import('node:net').Server;
  folderCache: Record<string, HoodiecrowFolder>;
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

export interface LocalImapServer {
  host: string;
  port: number;
  /** Messages in a folder, by UID order. */
  messages(folder: string): { uid: number; raw: Buffer; flags: string[] }[];
  append(folder: string, message: SeedMessage): void;
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
        connection.state = 'Authenticated';
        reply('OK', 'AUTHENTICATE completed.');
      } else if (reason) {
        refusals.push(reason);
        reply('NO', EXCHANGE_RESPONSES.authenticateFailed);
      } else {
        stats.logins++;
        connection.state = 'Authenticated';
        reply('OK', 'AUTHENTICATE completed.');
      }
      return done();
    });
  };
}

/** Starts the server on 127.0.0.1 with a free port, TLS from `tls`. */
export async function startLocalImapServer(options: {
  tls: { key: string; cert: string };
  checkToken: TokenCheck;
  folders?: string[];
  messages?: SeedMessage[];
  /** UIDVALIDITY of INBOX (default 1): a new value is what a renumbered folder looks like. */
  uidValidity?: number;
}): Promise<LocalImapServer> {
  const refusals: string[] = [];
  const stats = { logins: 0 };
  let interceptor: CommandInterceptor | undefined;
  const folders = Object.fromEntries((options.folders ?? []).map((name) => [name, {}]));
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
    storage: { INBOX: { messages: [], uidvalidity: options.uidValidity ?? 1 }, '': { separator: '/', folders } },
  });
  interceptCommands(server, () => interceptor);
  // hoodiecrow keeps message sources as binary strings.
  for (const message of options.messages ?? []) appendTo(server, 'INBOX', message);

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
    messages(folder) {
      const box = server.folderCache[folder === 'INBOX' ? 'INBOX' : folder];
      return (box?.messages ?? []).map((m) => ({
        uid: m.uid,
        raw: Buffer.from(m.raw, 'binary'),
        flags: [...m.flags],
      }));
    },
    append: (folder, message) => appendTo(server, folder, message),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open client connections would keep close() waiting.
        (server.server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/** Answers commands of authenticated sessions as Exchange does when it throttles, ends a session, or refuses a mailbox. */
function interceptCommands(server: HoodiecrowServer, current: () => CommandInterceptor | undefined): void {
  const original = server.getCommandHandler.bind(server);
  server.getCommandHandler = (command) => {
    const handler = original(command);
    if (!handler) return handler;
    return (connection, parsed, data, done) => {
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
  server.appendMessage(
    folder,
    message.flags ?? [],
    imapDate(message.internalDate ?? new Date()),
    message.raw.toString('binary'),
  );
}
