/**
 * Exchange Online's end of a session whose access token has expired, in front
 * of a real IMAP server that has no such notion.
 *
 * Exchange checks the token at AUTHENTICATE and, once that token's `exp` has
 * passed, answers the session's next command, whichever it is (client issue
 * reports show it answering LIST and FETCH), with
 *
 *   * BYE Session invalidated - AccessTokenExpired
 *
 * and closes the connection; the command is not run. Dovecot 2.3 looks at a
 * token only at login (its oauth2 passdb has no notion of a session's lifetime),
 * so this TLS-terminating proxy does that part: it reads the XOAUTH2 initial
 * response from the client's AUTHENTICATE command (or the continuation line
 * after it), learns the token's expiry from the token service, and holds back
 * the first command sent after it, answering with the BYE (after the response
 * in flight, if any, never inside it). Every other byte passes through
 * unchanged. Both hops are TLS verified against the local CA.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';

export const ACCESS_TOKEN_EXPIRED_BYE = '* BYE Session invalidated - AccessTokenExpired';

/** A command or response line is well under this; Dovecot's imap_max_line_length is 64 KiB. */
const MAX_LINE_BYTES = 64 * 1024;

export interface TokenExpiryProxy {
  host: string;
  port: number;
  /** Sessions ended with the AccessTokenExpired BYE so far. */
  readonly expiredSessions: number;
  /**
   * Treats the token of every open session as expired from now on, so a test chooses the
   * moment Exchange ends a session: each session's next command gets the BYE.
   */
  expireSessions(): void;
  close(): Promise<void>;
}

export interface TokenExpiryProxyOptions {
  /** The IMAP server behind the proxy (implicit TLS), the name its certificate is for, and the CA it chains to. */
  target: { host: string; port: number; servername: string; ca: string };
  /** The proxy's own certificate (for localhost, as clients connect to it). */
  tls: { key: string; cert: string };
  /** When `token` expires (Unix seconds), or undefined for a token the server is going to refuse anyway. */
  expiresAt(token: string): number | undefined;
}

interface Session {
  expireNow(): void;
  destroy(): void;
}

export async function startTokenExpiryProxy(options: TokenExpiryProxyOptions): Promise<TokenExpiryProxy> {
  const sessions = new Set<Session>();
  let expiredSessions = 0;

  const server = createServer(options.tls, (client) => {
    const upstream = connect({
      host: options.target.host,
      port: options.target.port,
      ca: options.target.ca,
      servername: options.target.servername,
    });
    // IMAP is chatty request/response: without this, Nagle's algorithm and delayed ACKs
    // add ~40 ms to every round trip through the proxy (a 60 MB FETCH took 38 s, not 3).
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const commands = new ImapStream();
    const responses = new ImapStream();
    /** When the session's token expires, in ms; Infinity until a token is seen. */
    let tokenExpiresAt = Infinity;
    let expired = false;
    let ended = false;
    let saslResponseNext = false;

    const session: Session = {
      expireNow: () => {
        tokenExpiresAt = Math.min(tokenExpiresAt, Date.now());
      },
      destroy: () => {
        sessions.delete(session);
        client.destroy();
        upstream.destroy();
      },
    };
    sessions.add(session);

    // Only between two responses: a BYE inside a literal would corrupt the one being sent.
    const byeIfBetweenResponses = () => {
      if (ended || !responses.betweenLines) return;
      ended = true;
      expiredSessions += 1;
      upstream.destroy();
      client.end(`${ACCESS_TOKEN_EXPIRED_BYE}\r\n`, () => session.destroy());
    };

    const learnToken = (initialResponse: string) => {
      const decoded = Buffer.from(initialResponse, 'base64').toString('latin1');
      const token = /(?:^|\x01)auth=Bearer ([^\x01]+)\x01/.exec(decoded)?.[1];
      const expiresAt = token === undefined ? undefined : options.expiresAt(token);
      if (expiresAt !== undefined) tokenExpiresAt = expiresAt * 1000;
    };

    client.on('data', (chunk: Buffer) => {
      if (!expired && Date.now() >= tokenExpiresAt) expired = true;
      // The command never reaches the server.
      if (expired) return byeIfBetweenResponses();
      for (const line of commands.push(chunk)) {
        const authenticate = /^\S+ AUTHENTICATE XOAUTH2(?: (\S+))?$/i.exec(line);
        if (authenticate) {
          if (authenticate[1]) learnToken(authenticate[1]);
          else saslResponseNext = true;
        } else if (saslResponseNext) {
          saslResponseNext = false;
          if (line !== '*') learnToken(line);
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (ended) return;
      responses.push(chunk);
      client.write(chunk);
      if (expired) byeIfBetweenResponses();
    });
    upstream.on('end', () => client.end());
    client.on('end', () => upstream.end());
    for (const socket of [client, upstream] as TLSSocket[]) {
      socket.on('error', session.destroy);
      socket.on('close', session.destroy);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  return {
    host: 'localhost',
    port: (server.address() as AddressInfo).port,
    get expiredSessions() {
      return expiredSessions;
    },
    expireSessions() {
      for (const session of sessions) session.expireNow();
    },
    async close() {
      for (const session of [...sessions]) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Follows one direction of an IMAP byte stream (RFC 9051 section 2.2): the lines
 * outside literals, and whether the stream rests between two lines. A line
 * ending in {N} or {N+} announces N bytes of literal, after which the line goes on.
 */
class ImapStream {
  private literalLeft = 0;
  private line = '';
  private lineTooLong = false;
  betweenLines = true;

  /** Consumes `chunk`; returns the lines it completed (without CRLF, latin1, literals left out). */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.literalLeft > 0) {
        const taken = Math.min(this.literalLeft, chunk.length - at);
        this.literalLeft -= taken;
        at += taken;
        continue;
      }
      const lf = chunk.indexOf(0x0a, at);
      const end = lf === -1 ? chunk.length : lf + 1;
      this.append(chunk.toString('latin1', at, end));
      at = end;
      if (lf === -1) {
        this.betweenLines = false;
        break;
      }
      const line = this.line.replace(/\r?\n$/, '');
      const literal = /\{(\d+)\+?\}$/.exec(line);
      if (!this.lineTooLong) lines.push(line);
      this.line = '';
      this.lineTooLong = false;
      this.literalLeft = literal ? Number(literal[1]) : 0;
      this.betweenLines = !literal;
    }
    return lines;
  }

  private append(text: string) {
    this.betweenLines = false;
    this.line += text;
    if (this.line.length > MAX_LINE_BYTES) {
      // Keep the end, which may announce a literal; the line itself is of no interest.
      this.line = this.line.slice(-32);
      this.lineTooLong = true;
    }
  }
}
