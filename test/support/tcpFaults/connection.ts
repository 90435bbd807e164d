import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Flow } from './flow.js';
import type { ProxyState } from './proxyState.js';

/**
 * The two ends of a proxied connection. The raw TCP sockets are what RST and FIN are
 * sent on; bytes are read from and written to `client` and `server`, which are TLS
 * over them when the proxy is a TLS hop, else the same sockets.
 */
export interface ConnectionEnds {
  rawClient: Socket;
  rawServer: Socket;
  client: Duplex;
  server: Duplex;
}

/** One client connection and its connection to the server, with a flow each way; ends once, by cut or reset. */
export class Connection {
  closed = false;
  stalled = false;
  private stallTimer?: NodeJS.Timeout;
  readonly toServer: Flow;
  readonly toClient: Flow;
  private readonly rawClient: Socket;
  private readonly rawServer: Socket;

  constructor(
    /** 1-based, in the order the proxy accepted connections. */
    readonly index: number,
    ends: ConnectionEnds,
    proxy: ProxyState,
    /** Called once the connection is over, whichever side ended it. */
    private readonly onClosed: (connection: Connection) => void,
  ) {
    const { rawClient, rawServer, client, server } = ends;
    this.rawClient = rawClient;
    this.rawServer = rawServer;
    this.toServer = new Flow('toServer', server, this, proxy);
    this.toClient = new Flow('toClient', client, this, proxy);
    client.on('data', (chunk: Buffer) => this.toServer.push(chunk));
    server.on('data', (chunk: Buffer) => this.toClient.push(chunk));
    // An end from either side passes on after what came before it.
    client.on('end', () => this.toServer.push('end'));
    server.on('end', () => this.toClient.push('end'));
    for (const socket of new Set([client, server, rawClient, rawServer])) socket.on('error', () => this.end('reset'));
    const closed = () => {
      if (!rawClient.destroyed || !rawServer.destroyed) return;
      this.closed = true;
      this.onClosed(this);
    };
    rawClient.on('close', closed);
    rawServer.on('close', closed);
  }

  stall(ms?: number) {
    this.stalled = true;
    clearTimeout(this.stallTimer);
    if (ms !== undefined) this.stallTimer = setTimeout(() => this.release(), ms);
  }

  release() {
    clearTimeout(this.stallTimer);
    this.stalled = false;
    this.pump();
  }

  pump() {
    this.toServer.pump();
    this.toClient.pump();
  }

  /** Ends the connection at once: FIN after what was written, or RST. */
  end(how: 'cut' | 'reset') {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.stallTimer);
    this.onClosed(this);
    for (const raw of [this.rawClient, this.rawServer]) {
      if (raw.destroyed) continue;
      if (how === 'reset') {
        // Not yet connected sockets have no TCP handle to reset.
        try {
          raw.resetAndDestroy();
        } catch {
          raw.destroy();
        }
      } else {
        raw.end();
        setTimeout(() => raw.destroy(), 1000).unref();
      }
    }
  }
}
