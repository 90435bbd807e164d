/**
 * The fault proxy itself: a fault lands exactly where its rule says, or the
 * fault tests would prove less than they claim ("inside the literal").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { loadOrCreateLocalCa } from '../../local/ca.js';
import { startTcpFaultProxy, type FaultRule, type TcpFaultProxy } from '../support/tcpFaults.js';

/** 64 KB the server sends on every connection, in 1 KB writes, with a marker X every 4 KB. */
const PAYLOAD = Buffer.from(Array.from({ length: 16 }, (_, i) => `${'.'.repeat(4095 - String(i).length)}${i}X`).join(''), 'latin1');

interface Received {
  data: Buffer;
  error?: string;
}

describe('the TCP fault proxy', () => {
  let server: Server;
  let proxy: TcpFaultProxy;
  /** What the server received on each connection, once it closed. */
  const serverSaw: Buffer[] = [];

  before(async () => {
    server = createServer((socket: Socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', () => {});
      socket.on('close', () => serverSaw.push(Buffer.concat(chunks)));
      for (let at = 0; at < PAYLOAD.length; at += 1024) socket.write(PAYLOAD.subarray(at, at + 1024));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    proxy = await startTcpFaultProxy({ target: { host: '127.0.0.1', port: (server.address() as AddressInfo).port } });
  });
  after(async () => {
    await proxy.close();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Connects through the proxy with `rule` armed, sends `send`, and reads until the connection ends or `ms` pass. */
  async function through(rule: FaultRule | undefined, send = '', ms = 1_000): Promise<Received> {
    const handle = rule ? proxy.addRule(rule) : undefined;
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
    // Not events.once: it rejects on 'error', and errors are what some tests want to see.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed]);
    if (send && !socket.destroyed) socket.write(send);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, ms))]);
    socket.destroy();
    handle?.remove();
    return { data: Buffer.concat(chunks), error };
  }

  test('passes every byte through untouched without a rule', async () => {
    const { data } = await through(undefined, '', 300);
    assert.ok(data.equals(PAYLOAD));
  });

  test('cuts after exactly the Nth byte', async () => {
    const { data, error } = await through({ direction: 'toClient', afterBytes: 10_000, action: 'cut' });
    assert.equal(data.length, 10_000);
    assert.ok(data.equals(PAYLOAD.subarray(0, 10_000)));
    assert.equal(error, undefined, 'a cut is an orderly end (FIN)');
  });

  test('cuts N bytes after the kth occurrence of a pattern, across chunk boundaries', async () => {
    const { data } = await through({ direction: 'toClient', pattern: '3X', occurrence: 2, thenBytes: 5, action: 'cut' });
    // "3X" ends the 4th block and the 14th ("13X").
    const second = PAYLOAD.indexOf('3X', PAYLOAD.indexOf('3X') + 2);
    assert.equal(data.length, second + 2 + 5);
  });

  test('before a pattern the client sends: the server never sees it', async () => {
    const before = serverSaw.length;
    await through({ direction: 'toServer', pattern: 'UID MOVE', before: true, action: 'cut' }, 'A1 NOOP\r\nA2 UID MOVE 1:5 Processed\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(serverSaw.slice(before).map((b) => b.toString('latin1')).join(''), 'A1 NOOP\r\nA2 ');
  });

  test('a reset aborts the connection: the client gets no more than the bytes before it', async () => {
    const started = Date.now();
    const { data } = await through({ direction: 'toClient', afterBytes: 2_048, action: 'reset' }, '', 5_000);
    // An RST (SO_LINGER 0) discards what the client's kernel holds unread; whether the client
    // reads ECONNRESET or an end depends on when it reads: what matters is that nothing more comes.
    assert.ok(data.length <= 2_048, `${data.length} bytes`);
    assert.ok(Date.now() - started < 5_000, 'the connection ended at once');
  });

  test('a stall holds the bytes, loses none, and lets them go after the time given', async () => {
    const started = Date.now();
    const { data } = await through({ direction: 'toClient', afterBytes: 1_000, action: { stallMs: 400 } }, '', 1_500);
    assert.ok(data.equals(PAYLOAD));
    assert.ok(Date.now() - started >= 400);
  });

  test('a watching rule fires at every occurrence, once each, and changes nothing', async () => {
    let fired = 0;
    const { data } = await through({ direction: 'toClient', pattern: 'X', before: true, action: 'none', times: Infinity, onFire: () => fired++ }, '', 300);
    assert.ok(data.equals(PAYLOAD));
    assert.equal(fired, 16);
  });

  test('refusing resets new connections at once', async () => {
    proxy.refuse(true);
    try {
      const { data, error } = await through(undefined);
      assert.equal(data.length, 0);
      assert.equal(error, 'ECONNRESET');
    } finally {
      proxy.refuse(false);
    }
  });

  test('as a TLS hop: the client verifies its certificate, and rules see the plain text', async () => {
    const ca = loadOrCreateLocalCa();
    const tlsServer = createTlsServer(ca.issue(['localhost']), (socket) => socket.end('* OK ready\r\n* 1 FETCH (BODY[] {10}\r\n0123456789)\r\nA1 OK done\r\n'));
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    const hop = await startTcpFaultProxy({
      target: { host: '127.0.0.1', port: (tlsServer.address() as AddressInfo).port },
      tls: { ...ca.issue(['localhost']), ca: ca.certPem, servername: 'localhost' },
    });
    try {
      hop.addRule({ direction: 'toClient', pattern: 'BODY[] {10}\r\n', thenBytes: 4, action: 'cut' });
      const client = tlsConnect({ host: '127.0.0.1', port: hop.port, servername: 'localhost', ca: ca.certPem });
      const chunks: Buffer[] = [];
      client.on('data', (chunk: Buffer) => chunks.push(chunk));
      client.on('error', () => {});
      await once(client, 'secureConnect');
      assert.equal(client.authorized, true);
      await once(client, 'close');
      assert.equal(Buffer.concat(chunks).toString('latin1'), '* OK ready\r\n* 1 FETCH (BODY[] {10}\r\n0123');
    } finally {
      await hop.close();
      await new Promise((resolve) => tlsServer.close(resolve));
    }
  });
});
