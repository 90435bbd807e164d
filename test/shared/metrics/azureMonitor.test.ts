/**
 * METRICS_EXPORTER=auto in the function app: Azure Monitor's exporter sends a
 * run's metrics to the connection string's ingestion endpoint, with an Entra
 * token of the identity APPLICATIONINSIGHTS_AUTHENTICATION_STRING names (the
 * component accepts no other), before the drain returns. The endpoint is a
 * local HTTPS server that records what it is sent; the token comes from the
 * local stack's managed identity endpoint.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { drain } from '../../../shared/drain/drain.js';
import { loadOrCreateLocalCa } from '../../../local/ca.js';
import { capturingLogger, seededDemo, startTestStack, type TestStack } from '../../support/localStack.js';

interface Envelope {
  name: string;
  iKey: string;
  data: { baseType: string; baseData: { metrics: { name: string; value: number; count?: number }[]; properties: Record<string, string> } };
}

const IKEY = '00000000-1111-2222-3333-444444444444';
let stack: TestStack;
let ingestion: Server;
const received: { authorization?: string; envelopes: Envelope[] }[] = [];

before(async () => {
  // Statsbeat (the SDK's own usage telemetry, to Microsoft's endpoints) has no place in a test.
  process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';
  const { messages } = await seededDemo();
  stack = await startTestStack({ messages: messages.slice(0, 2) });
  ingestion = createServer(loadOrCreateLocalCa().issue(['localhost']), (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const envelopes = (text.trim().startsWith('[') ? JSON.parse(text) : text.split('\n').filter(Boolean).map((l) => JSON.parse(l))) as Envelope[];
      received.push({ authorization: req.headers.authorization, envelopes });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ itemsReceived: envelopes.length, itemsAccepted: envelopes.length, errors: [] }));
    });
  });
  ingestion.listen(0, '127.0.0.1');
  await once(ingestion, 'listening');
});
after(async () => {
  ingestion?.close();
  await stack?.stop();
  delete process.env.APPLICATION_INSIGHTS_NO_STATSBEAT;
});

test('a run with METRICS_EXPORTER=auto and the connection string sends its metrics, Entra-authenticated, before drain() returns', async () => {
  const { port } = ingestion.address() as AddressInfo;
  const settings = stack.settingsWith({
    APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${IKEY};IngestionEndpoint=https://localhost:${port}/`,
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${stack.identity.clientId};Authorization=AAD`,
  });
  assert.equal(settings.metrics.exporter, 'azure-monitor');
  const { logger, lines } = capturingLogger();
  const report = await drain(settings, logger);
  assert.equal(report.handedOff.length, 2);
  assert.ok(!lines.some((l) => /metrics .* could not be sent/.test(l)), lines.join('\n'));

  const envelopes = received.flatMap((r) => r.envelopes);
  assert.ok(received.length > 0, 'the ingestion endpoint was called before drain() returned');
  for (const r of received) assert.match(r.authorization ?? '', /^Bearer \S+/, 'every call carries an Entra token');
  const points = envelopes.filter((e) => e.data.baseType === 'MetricData').flatMap((e) => e.data.baseData.metrics.map((m) => ({ ...m, properties: e.data.baseData.properties })));
  const point = (name: string) => points.find((p) => p.name === name);
  assert.equal(point('mail_drain.handed_off')?.value, 2);
  assert.deepEqual(point('mail_drain.runs')?.properties, { mailbox: stack.mailbox.toLowerCase(), folder: 'INBOX', outcome: 'completed' });
  assert.equal(point('mail_drain.backlog')?.value, 0);
  assert.ok(envelopes.every((e) => e.iKey === IKEY));
  // The identity the authentication string names asked for the token.
  assert.ok(stack.identity.requests.some((r) => r.clientId === stack.identity.clientId && /monitor\.azure\.com/.test(r.resource)), JSON.stringify(stack.identity.requests));
});
