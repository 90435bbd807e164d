import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { loadOrCreateLocalCa } from '../../local/ca.js';

test('a server certificate from the local CA is trusted through NODE_EXTRA_CA_CERTS', async () => {
  const ca = loadOrCreateLocalCa();
  assert.equal(process.env.NODE_EXTRA_CA_CERTS, ca.certPath);
  const server = createServer(ca.issue(['localhost']), (_req, res) => res.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`https://localhost:${port}/`);
    assert.equal(await response.text(), 'ok');
  } finally {
    server.close();
  }
});
