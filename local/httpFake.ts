/**
 * The server plumbing the HTTP fakes share (Entra ID, Key Vault, the managed
 * identity endpoint): a server on 127.0.0.1 at a free port, HTTPS with a
 * certificate from the local CA or plain HTTP, each request read whole and
 * answered with JSON. The fakes themselves only map a request to a reply.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { loadOrCreateLocalCa } from './ca.js';

/** A request, read whole. */
export interface FakeRequest {
  /** '' if Node saw none. */
  method: string;
  /** The request target resolved against the fake's own address: read its path and query. */
  url: URL;
  headers: IncomingHttpHeaders;
  /** The body as UTF-8; '' when there is none. */
  body: string;
}

/** An answer, sent as `application/json`. */
export interface JsonReply {
  status: number;
  /** Without it the reply has no body. */
  body?: object;
  headers?: Record<string, string>;
}

export interface HttpFakeOptions {
  /** Serve HTTPS with a local-CA certificate for these names (the CA adds 127.0.0.1 and ::1). Without it: plain HTTP. */
  tlsHostnames?: string[];
  answer(request: FakeRequest): JsonReply | Promise<JsonReply>;
  /** Headers for every reply, asked for each one (a fresh request id, say); the reply's own headers win. */
  headers?: () => Record<string, string>;
  /** The reply when reading or answering a request throws. Default: 500 with the error as text. */
  internalError?: (error: unknown) => JsonReply;
}

export interface HttpFake {
  port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

// A token request is a few KB even with an x5c chain in the assertion; nothing the fakes are sent comes near this.
const MAX_REQUEST_BYTES = 64 * 1024;

/** Starts a fake on 127.0.0.1 at a free port; resolves once it is listening. */
export async function startHttpFake(options: HttpFakeOptions): Promise<HttpFake> {
  const { tlsHostnames } = options;
  const listener = (req: IncomingMessage, res: ServerResponse) => void respond(req, res);
  const server = tlsHostnames ? createHttpsServer(loadOrCreateLocalCa().issue(tlsHostnames), listener) : createHttpServer(listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `${tlsHostnames ? 'https' : 'http'}://127.0.0.1:${port}`;

  async function respond(req: IncomingMessage, res: ServerResponse) {
    let reply: JsonReply;
    try {
      const body = await readBody(req);
      reply = await options.answer({ method: req.method ?? '', url: new URL(req.url ?? '/', origin), headers: req.headers, body });
    } catch (error) {
      reply = (options.internalError ?? serverError)(error);
    }
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...options.headers?.(), ...reply.headers });
    res.end(reply.body ? JSON.stringify(reply.body) : undefined);
  }

  return {
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDKs keep connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
      });
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) throw new Error(`request body over ${MAX_REQUEST_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function serverError(error: unknown): JsonReply {
  return { status: 500, body: { error: String(error) } };
}
