import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, imapLogger, redact, registerSecret, type LogSink } from '../../shared/logger.js';

function capture(level: 'debug' | 'info' = 'debug') {
  const lines: string[] = [];
  const sink: LogSink = { debug: (l) => lines.push(l), info: (l) => lines.push(l), warn: (l) => lines.push(l), error: (l) => lines.push(l) };
  return { lines, logger: createLogger(sink, level) };
}

test('registered secrets are masked in every encoding they travel in', () => {
  const secret = 'Qx8~abc.DEF_ghi-jkl0123456789';
  registerSecret(secret);
  const { lines, logger } = capture();
  logger.debug(`client_id=x&client_secret=${encodeURIComponent(secret)}&scope=y`);
  logger.info(`raw ${secret} and base64 ${Buffer.from(secret).toString('base64')}`);
  assert.equal(lines.length, 2);
  for (const line of lines) assert.ok(!line.includes(secret) && !line.includes(Buffer.from(secret).toString('base64')), line);
});

test('secret-shaped values are masked without being registered', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sifQ.c2lnbmF0dXJlLXBhcnQ';
  const xoauth2 = Buffer.from(`user=box@contoso.com\x01auth=Bearer ${jwt}\x01\x01`).toString('base64');
  const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
  const text = redact(`C: A1 AUTHENTICATE XOAUTH2 ${xoauth2}\nAuthorization: Bearer abc.def\n${jwt}\n${pem}`);
  for (const leaked of [jwt, xoauth2, 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'abc.def']) assert.ok(!text.includes(leaked), leaked);
  assert.match(text, /AUTHENTICATE XOAUTH2 \[REDACTED\]/);
});

test('lines below the level are dropped', () => {
  const { lines, logger } = capture('info');
  logger.debug('hidden');
  logger.info('shown');
  assert.deepEqual(lines, ['shown']);
});

test("imapflow's log objects become redacted debug lines", () => {
  const { lines, logger } = capture();
  imapLogger(logger).debug({ src: 's', msg: '* OK ready', cid: 'x1' });
  imapLogger(logger).info({ src: 'c', msg: 'A1 AUTHENTICATE XOAUTH2 dXNlcj1ib3hAY29udG9zby5jb20BYXV0aD1CZWFyZXIgZXlK' });
  assert.deepEqual(lines, ['imap S: * OK ready', 'imap C: A1 AUTHENTICATE XOAUTH2 [REDACTED]']);
});
