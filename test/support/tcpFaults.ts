/**
 * A TCP proxy on 127.0.0.1 in front of a real service (Dovecot, Azurite) that
 * passes bytes through and breaks the connection the way networks do, on
 * command or when a rule says so:
 *
 *   cut     the connection ends (FIN) after exactly the bytes chosen
 *   reset   the connection is aborted (RST, socket.resetAndDestroy())
 *   stall   nothing is forwarded, either way, for N ms or until released
 *   delay   every chunk waits N ms
 *   refuse  new connections are reset at once (the service is down)
 *
 * A rule fires on one stream of a connection, to the server or to the client:
 * after its Nth byte, or where a pattern is seen (the mid-FETCH literal, the
 * 'UID MOVE' command, an HTTP status line), exactly there: the bytes before
 * that point are delivered, the rest never is.
 *
 * By default the proxy is below TLS: the bytes pass unchanged, the client
 * verifies the server's certificate end to end, and rules see ciphertext, so
 * only byte counts mean anything in them (plain HTTP, such as Azurite, shows
 * its text). To cut an IMAP session at a command or inside a literal, `tls`
 * makes the proxy a TLS hop instead, as an Exchange front end is: it presents a
 * certificate from the local CA for the name the client asks for ('localhost'),
 * which the client verifies as usual, and verifies the server behind it in
 * turn. The faults still hit the TCP connections themselves.
 */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect, createSecureContext, TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Connection } from './tcpFaults/connection.js';
import type { Direction, FaultEvent, FaultRule, RuleEntry } from './tcpFaults/faultRule.js';
import { ProxyState } from './tcpFaults/proxyState.js';

export type { Direction, FaultAction, FaultEvent, FaultRule } from './tcpFaults/faultRule.js';

export interface RuleHandle {
  /** Times the rule has fired. */
  readonly fired: number;
  remove(): void;
}

export interface TcpFaultProxy {
  host: '127.0.0.1';
  port: number;
  /** `http://host:port/path` with the proxy's address instead (for Azurite endpoints). */
  endpointFor(url: string): string;
  addRule(rule: FaultRule): RuleHandle;
  /** Ends every open connection now (FIN); the next request makes a new one. */
  cutAll(): void;
  /** Aborts every open connection now (RST). */
  resetAll(): void;
  /** Forwards nothing, on open and new connections, for `ms` or until `release()`. Bytes wait, none is lost. */
  stall(ms?: number): void;
  release(): void;
  /** Holds every chunk `ms` before forwarding it (0: no delay). */
  delay(ms: number): void;
  /** While on, new connections are reset as soon as they are accepted. */
  refuse(on: boolean): void;
  /** Connections accepted so far, and open now. */
  readonly connections: number;
  readonly open: number;
  /** Bytes forwarded so far, per stream, over all connections. */
  readonly bytes: Record<Direction, number>;
  /** Every fault that happened, in order. */
  readonly events: FaultEvent[];
  close(): Promise<void>;
}

export interface TcpFaultProxyOptions {
  target: { host: string; port: number };
  /**
   * Be a TLS hop, so that rules see the protocol's text: `key`/`cert` for the client
   * (from the local CA), `ca`/`servername` to verify the target.
   */
  tls?: { key: string; cert: string; ca: string; servername: string };
}

/** The host and port of an `http://host:port/...` endpoint, as a proxy target. */
export function targetOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** Starts the proxy on 127.0.0.1 (random port); it connects to the target once per client connection. */
export async function startTcpFaultProxy(options: TcpFaultProxyOptions): Promise<TcpFaultProxy> {
  const proxy = new ProxyState();
  const open = new Set<Connection>();
  const forget = (connection: Connection) => open.delete(connection);
  let refusing = false;
  let stallTimer: NodeJS.Timeout | undefined;
  const secureContext = options.tls ? createSecureContext({ key: options.tls.key, cert: options.tls.cert }) : undefined;

  const server = createServer((rawClient) => {
    if (refusing) {
      proxy.record({ fault: 'refuse', action: 'reset', connection: ++proxy.connections });
      rawClient.on('error', () => {});
      rawClient.resetAndDestroy();
      return;
    }
    const rawServer = connect({ host: options.target.host, port: options.target.port });
    let client: Duplex = rawClient;
    let upstream: Duplex = rawServer;
    if (options.tls) {
      client = new TLSSocket(rawClient, { isServer: true, secureContext });
      upstream = tlsConnect({ socket: rawServer, ca: options.tls.ca, servername: options.tls.servername });
    }
    open.add(new Connection(++proxy.connections, { rawClient, rawServer, client, server: upstream }, proxy, forget));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  const releaseAll = () => {
    clearTimeout(stallTimer);
    proxy.stalled = false;
    for (const connection of open) connection.pump();
  };

  return {
    host: '127.0.0.1',
    port,
    endpointFor(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString().replace(/\/$/, '');
    },
    addRule(rule) {
      const entry: RuleEntry = { rule, fired: 0, removed: false };
      proxy.rules.push(entry);
      return {
        get fired() {
          return entry.fired;
        },
        remove() {
          entry.removed = true;
        },
      };
    },
    cutAll() {
      for (const connection of [...open]) {
        proxy.record({ fault: 'cutAll', action: 'cut', connection: connection.index });
        connection.end('cut');
      }
    },
    resetAll() {
      for (const connection of [...open]) {
        proxy.record({ fault: 'resetAll', action: 'reset', connection: connection.index });
        connection.end('reset');
      }
    },
    stall(ms) {
      proxy.record({ fault: 'stall', action: ms === undefined ? 'stall' : `stall ${ms} ms`, connection: 0 });
      proxy.stalled = true;
      clearTimeout(stallTimer);
      if (ms !== undefined) stallTimer = setTimeout(releaseAll, ms);
    },
    release: releaseAll,
    delay(ms) {
      proxy.delayMs = ms;
    },
    refuse(on) {
      refusing = on;
    },
    get connections() {
      return proxy.connections;
    },
    get open() {
      return open.size;
    },
    bytes: proxy.bytes,
    events: proxy.events,
    async close() {
      clearTimeout(stallTimer);
      for (const connection of [...open]) connection.end('cut');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
