import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DrainError } from '../../../shared/errors/errors.js';
import { createLogger, redact, redactedError, registerSecret, type LogSink } from '../../../shared/errors/logger.js';

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

test('an error leaves the process as a new Error, its message and stack redacted, its name and code kept, no cause', () => {
  const secret = 'Zy9~rotated.secret/value+0123=';
  registerSecret(secret);
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sifQ.c2lnbmF0dXJlLXBhcnQ';
  const xoauth2 = Buffer.from(`user=box@contoso.com\x01auth=Bearer ${jwt}\x01\x01`).toString('base64');
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END RSA PRIVATE KEY-----';
  const leaks = [secret, Buffer.from(secret).toString('base64'), encodeURIComponent(secret), jwt, xoauth2, 'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo', 'opaque-bearer', 'posted-secret'];
  const text =
    `raw ${secret}, base64 ${Buffer.from(secret).toString('base64')}, URL ${encodeURIComponent(secret)}\n` +
    `${jwt}\n${pem}\nAUTHENTICATE XOAUTH2 ${xoauth2}\nAuthorization: Bearer opaque-bearer\nclient_secret=posted-secret&scope=x`;
  const cause = new Error(`the cause: ${secret}`);

  for (const original of [new DrainError('ENTRA_TOKEN_FAILED', text, {}, { cause }), Object.assign(new RangeError(text), { code: 'ERR_X' }), text]) {
    const safe = redactedError(original);
    assert.notEqual(safe, original);
    for (const field of [safe.message, safe.stack ?? '']) for (const leak of leaks) assert.ok(!field.includes(leak), `${leak} in ${field}`);
    assert.match(safe.message, /^raw \[REDACTED\], base64 \[REDACTED\], URL \[REDACTED\]\n\[REDACTED\]\n\[REDACTED\]\nAUTHENTICATE XOAUTH2 \[REDACTED\]\nAuthorization: Bearer \[REDACTED\]\nclient_secret=\[REDACTED\]&scope=x$/);
    assert.match(safe.stack ?? '', /\n\s+at /);
    assert.equal(safe.cause, undefined);
  }
  const drainError = redactedError(new DrainError('ENTRA_TOKEN_FAILED', text, {}, { cause })) as Error & { code?: string };
  assert.equal(drainError.name, 'DrainError');
  assert.equal(drainError.code, 'ENTRA_TOKEN_FAILED');
  assert.equal((redactedError(Object.assign(new RangeError(text), { code: 'ERR_X' })) as Error & { code?: string }).code, 'ERR_X');
});

test('the secret registry forgets expired tokens, never a stored credential: a warm host does not scan a growing list', () => {
  const stored = 'stored-client-secret-value-0001';
  const oldToken = 'opaque-token-expired-two-hours-ago';
  registerSecret(stored);
  registerSecret(oldToken, Date.now() - 2 * 3600_000);
  assert.equal(redact(`a ${oldToken} b`), 'a [REDACTED] b', 'still masked until the next registration prunes it');
  for (let i = 0; i < 1000; i++) registerSecret(`opaque-renewed-token-${i}`, Date.now() - 2 * 3600_000);
  registerSecret('opaque-current-token-valid-now', Date.now() + 3600_000);
  assert.equal(redact(`a ${oldToken} b`), `a ${oldToken} b`, 'the expired token is forgotten');
  assert.equal(redact(`a opaque-renewed-token-999 b`), 'a opaque-renewed-token-999 b');
  assert.equal(redact(`a ${stored} b`), 'a [REDACTED] b', 'a credential without expiry stays masked');
  assert.equal(redact('a opaque-current-token-valid-now b'), 'a [REDACTED] b');
});
