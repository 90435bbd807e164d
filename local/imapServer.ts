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
interface HoodiecrowServer {
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

/** Decides whether `token` lets `user` in: undefined when it does, else the reason. */
export type TokenCheck = (user: string, token: string) => string | undefined;

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

/**
 * XOAUTH2 (SASL-IR only, as Exchange Online is used): the initial response is
 * base64("user=" user ^A "auth=Bearer " token ^A ^A). Failures answer with
 * Exchange's own words, "AUTHENTICATE failed.".
 */
function xoauth2(checkToken: TokenCheck, refusals: string[]) {
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
      if (reason) {
        refusals.push(reason);
        reply('NO', 'AUTHENTICATE failed.');
      } else {
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
}): Promise<LocalImapServer> {
  const refusals: string[] = [];
  const folders = Object.fromEntries((options.folders ?? []).map((name) => [name, {}]));
  const server = hoodiecrow({
    secureConnection: true,
    credentials: options.tls,
    plugins: [
      'ID',
      'SASL-IR',
      xoauth2(options.checkToken, refusals),
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
    storage: { INBOX: { messages: [] }, '': { separator: '/', folders } },
  });
  // hoodiecrow keeps message sources as binary strings.
  for (const message of options.messages ?? []) appendTo(server, 'INBOX', message);

  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;

  return {
    host: 'localhost',
    port,
    refusals,
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

function appendTo(server: HoodiecrowServer, folder: string, message: SeedMessage): void {
  server.appendMessage(
    folder,
    message.flags ?? [],
    imapDate(message.internalDate ?? new Date()),
    message.raw.toString('binary'),
  );
}
