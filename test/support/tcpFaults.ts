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
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';

export type Direction = 'toServer' | 'toClient';

/** What a fault does to the connection it hits. `none` only calls `onFire` (a hook at that byte). */
export type FaultAction = 'cut' | 'reset' | 'stall' | { stallMs: number } | 'none';

export interface FaultRule {
  /** Which stream of a connection the rule watches. */
  direction: Direction;
  /** Fires once this many bytes of the stream have passed (per connection). */
  afterBytes?: number;
  /** Fires where this text (latin1) or these bytes are seen in the stream... */
  pattern?: string | Buffer;
  /** ...the `occurrence`th time it is seen on the connection (default 1)... */
  occurrence?: number;
  /** ...right before the pattern's first byte (the pattern is never delivered)... */
  before?: boolean;
  /** ...or this many bytes after its last one (default 0: right after it). */
  thenBytes?: number;
  action: FaultAction;
  /** How many times the rule fires, on different connections or the same one (default 1). */
  times?: number;
  /** Only on the proxy's Nth connection (1-based). */
  connection?: number;
  /** Called when the rule fires, before the action (e.g. to restart the server). */
  onFire?: (event: FaultEvent) => void;
  /** A name for the events log. */
  name?: string;
}

export interface FaultEvent {
  /** The rule's name, or the command that caused it ('cutAll', 'stall'...). */
  fault: string;
  action: string;
  connection: number;
  direction?: Direction;
  /** Bytes of that stream delivered before the fault. */
  position?: number;
  at: number;
}

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

interface RuleEntry {
  rule: FaultRule;
  fired: number;
  removed: boolean;
}

/** Bytes to forward at `due`, or the end of the stream (after everything before it). */
interface Chunk {
  data: Buffer | 'end';
  due: number;
}

export async function startTcpFaultProxy(options: TcpFaultProxyOptions): Promise<TcpFaultProxy> {
  const rules: RuleEntry[] = [];
  const open = new Set<Connection>();
  const events: FaultEvent[] = [];
  const bytes: Record<Direction, number> = { toServer: 0, toClient: 0 };
  const state = { connections: 0, stalled: false, stallTimer: undefined as NodeJS.Timeout | undefined, delayMs: 0, refusing: false };
  const secureContext = options.tls ? createSecureContext({ key: options.tls.key, cert: options.tls.cert }) : undefined;

  const record = (event: Omit<FaultEvent, 'at'>) => {
    const full = { ...event, at: Date.now() };
    events.push(full);
    return full;
  };

  /** One direction of one connection: bytes from `from` to `to`, in order, through the rules. */
  class Flow {
    position = 0;
    private queue: Chunk[] = [];
    private timer?: NodeJS.Timeout;
    /**
     * Per rule, on this stream: where it fires, once known; the last bytes seen (a pattern may span
     * chunks) and the matches counted; where matches may start (not inside one that fired); and
     * whether a byte-count rule is spent here.
     */
    private marks = new Map<RuleEntry, { firePos?: number; tail: Buffer; seen: number; searchFrom: number; spent: boolean }>();

    constructor(
      readonly direction: Direction,
      private readonly to: Duplex,
      private readonly connection: Connection,
    ) {}

    push(data: Buffer | 'end') {
      const due = Date.now() + state.delayMs;
      this.queue.push({ data, due: Math.max(due, this.queue.at(-1)?.due ?? 0) });
      this.pump();
    }

    pump() {
      clearTimeout(this.timer);
      this.timer = undefined;
      while (this.queue.length > 0 && !this.connection.closed && !this.connection.stalled && !state.stalled) {
        const head = this.queue[0]!;
        const wait = head.due - Date.now();
        if (wait > 0) {
          this.timer = setTimeout(() => this.pump(), wait);
          return;
        }
        this.queue.shift();
        if (head.data === 'end') {
          this.to.end();
          continue;
        }
        const rest = this.forward(head.data);
        if (rest) this.queue.unshift({ data: rest, due: 0 });
      }
    }

    /** Forwards `data` up to the first rule that fires in it; returns what is left to forward later, if anything. */
    private forward(data: Buffer): Buffer | undefined {
      let chunk = data;
      for (;;) {
        const hit = this.firstFiring(chunk);
        if (!hit) {
          this.deliver(chunk);
          return undefined;
        }
        const { entry, offset } = hit;
        this.deliver(chunk.subarray(0, offset));
        chunk = chunk.subarray(offset);
        entry.fired += 1;
        const { rule } = entry;
        // Armed again for its next firing (times > 1): after the match that fired, or never again here for a byte count.
        const matchedLength = rule.before && rule.pattern !== undefined ? Buffer.byteLength(rule.pattern, 'latin1') : 0;
        this.marks.set(entry, { tail: Buffer.alloc(0), seen: 0, searchFrom: this.position + matchedLength, spent: rule.afterBytes !== undefined });
        const event = record({
          fault: rule.name ?? describeRule(rule),
          action: actionName(rule.action),
          connection: this.connection.index,
          direction: this.direction,
          position: this.position,
        });
        rule.onFire?.(event);
        const action = rule.action;
        if (action === 'cut' || action === 'reset') {
          this.connection.end(action);
          return undefined;
        }
        if (action === 'stall' || typeof action === 'object') {
          this.connection.stall(typeof action === 'object' ? action.stallMs : undefined);
          return chunk.length > 0 ? chunk : undefined;
        }
        // 'none': go on with the rest of the chunk.
      }
    }

    private deliver(chunk: Buffer) {
      if (chunk.length === 0) return;
      this.position += chunk.length;
      bytes[this.direction] += chunk.length;
      this.to.write(chunk);
    }

    private firstFiring(chunk: Buffer): { entry: RuleEntry; offset: number } | undefined {
      let best: { entry: RuleEntry; offset: number } | undefined;
      for (const entry of rules) {
        const { rule } = entry;
        if (entry.removed || rule.direction !== this.direction || entry.fired >= (rule.times ?? 1)) continue;
        if (rule.connection !== undefined && rule.connection !== this.connection.index) continue;
        let mark = this.marks.get(entry);
        if (!mark) {
          mark = { firePos: rule.afterBytes, tail: Buffer.alloc(0), seen: 0, searchFrom: 0, spent: false };
          this.marks.set(entry, mark);
        }
        if (mark.spent) continue;
        if (mark.firePos === undefined && rule.pattern !== undefined) {
          const pattern = typeof rule.pattern === 'string' ? Buffer.from(rule.pattern, 'latin1') : rule.pattern;
          const window = Buffer.concat([mark.tail, chunk]);
          let from = 0;
          for (let found = window.indexOf(pattern, from); found >= 0; found = window.indexOf(pattern, from)) {
            const start = this.position - mark.tail.length + found;
            if (start < mark.searchFrom) {
              from = found + 1;
              continue;
            }
            from = found + pattern.length;
            if (++mark.seen < (rule.occurrence ?? 1)) continue;
            mark.firePos = rule.before ? start : start + pattern.length + (rule.thenBytes ?? 0);
            break;
          }
          // Keep the end that could begin a match, but never bytes of a match already counted.
          if (mark.firePos === undefined) mark.tail = window.subarray(Math.max(from, window.length - (pattern.length - 1)));
        }
        if (mark.firePos === undefined || mark.firePos > this.position + chunk.length) continue;
        const offset = Math.max(0, mark.firePos - this.position);
        if (!best || offset < best.offset) best = { entry, offset };
      }
      return best;
    }
  }

  class Connection {
    readonly index: number;
    closed = false;
    stalled = false;
    private stallTimer?: NodeJS.Timeout;
    readonly toServer: Flow;
    readonly toClient: Flow;

    constructor(
      /** The TCP sockets: what RST and FIN are sent on. */
      private readonly rawClient: Socket,
      private readonly rawServer: Socket,
      client: Duplex,
      server: Duplex,
    ) {
      this.index = ++state.connections;
      this.toServer = new Flow('toServer', server, this);
      this.toClient = new Flow('toClient', client, this);
      client.on('data', (chunk: Buffer) => this.toServer.push(chunk));
      server.on('data', (chunk: Buffer) => this.toClient.push(chunk));
      // An end from either side passes on after what came before it.
      client.on('end', () => this.toServer.push('end'));
      server.on('end', () => this.toClient.push('end'));
      for (const socket of new Set([client, server, rawClient, rawServer])) socket.on('error', () => this.end('reset'));
      const closed = () => {
        if (!rawClient.destroyed || !rawServer.destroyed) return;
        this.closed = true;
        open.delete(this);
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
      open.delete(this);
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

  const server = createServer((rawClient) => {
    if (state.refusing) {
      record({ fault: 'refuse', action: 'reset', connection: ++state.connections });
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
    open.add(new Connection(rawClient, rawServer, client, upstream));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  const releaseAll = () => {
    clearTimeout(state.stallTimer);
    state.stalled = false;
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
      rules.push(entry);
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
        record({ fault: 'cutAll', action: 'cut', connection: connection.index });
        connection.end('cut');
      }
    },
    resetAll() {
      for (const connection of [...open]) {
        record({ fault: 'resetAll', action: 'reset', connection: connection.index });
        connection.end('reset');
      }
    },
    stall(ms) {
      record({ fault: 'stall', action: ms === undefined ? 'stall' : `stall ${ms} ms`, connection: 0 });
      state.stalled = true;
      clearTimeout(state.stallTimer);
      if (ms !== undefined) state.stallTimer = setTimeout(releaseAll, ms);
    },
    release: releaseAll,
    delay(ms) {
      state.delayMs = ms;
    },
    refuse(on) {
      state.refusing = on;
    },
    get connections() {
      return state.connections;
    },
    get open() {
      return open.size;
    },
    bytes,
    events,
    async close() {
      clearTimeout(state.stallTimer);
      for (const connection of [...open]) connection.end('cut');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function actionName(action: FaultAction): string {
  return typeof action === 'object' ? `stall ${action.stallMs} ms` : action;
}

function describeRule(rule: FaultRule): string {
  const where =
    rule.afterBytes !== undefined
      ? `after byte ${rule.afterBytes}`
      : `${rule.before ? 'before' : 'after'} ${JSON.stringify(rule.pattern?.toString('latin1'))}` +
        `${rule.occurrence ? ` #${rule.occurrence}` : ''}${rule.thenBytes ? ` + ${rule.thenBytes} bytes` : ''}`;
  return `${rule.direction} ${where}`;
}
