/**
 * An HTTP proxy in front of a real service (Azurite) that fails the requests a
 * rule picks, with the status and error code the real service would send.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export type FaultRule = (req: IncomingMessage) => { status: number; code: string } | undefined;

export interface FaultyProxy {
  /** The proxy's base URL, with the target's path (e.g. http://127.0.0.1:P/devstoreaccount1). */
  url: string;
  failed: number;
  close(): Promise<void>;
}

export async function startFaultyProxy(target: string, rule: FaultRule): Promise<FaultyProxy> {
  const targetUrl = new URL(target);
  const state = { failed: 0 };
  const server = createServer((req, res) => {
    const fault = rule(req);
    if (fault) {
      state.failed++;
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/xml', 'x-ms-error-code': fault.code });
      res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${fault.code}</Code><Message>Injected by the test</Message></Error>`);
      return;
    }
    const upstream = request(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: targetUrl.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${targetUrl.pathname}`,
    get failed() {
      return state.failed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // the SDK's keep-alive connections would hold close() open
      }),
  };
}
