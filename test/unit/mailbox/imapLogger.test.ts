import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, type LogSink } from '../../../shared/errors/logger.js';
import { imapLogger } from '../../../shared/mailbox/imapLogger.js';

function capture() {
  const lines: string[] = [];
  const sink: LogSink = { debug: (l) => lines.push(l), info: (l) => lines.push(l), warn: (l) => lines.push(l), error: (l) => lines.push(l) };
  return { lines, logger: createLogger(sink, 'debug') };
}

test("imapflow's log objects become redacted debug lines", () => {
  const { lines, logger } = capture();
  imapLogger(logger).debug({ src: 's', msg: '* OK ready', cid: 'x1' });
  imapLogger(logger).info({ src: 'c', msg: 'A1 AUTHENTICATE XOAUTH2 dXNlcj1ib3hAY29udG9zby5jb20BYXV0aD1CZWFyZXIgZXlK' });
  assert.deepEqual(lines, ['imap S: * OK ready', 'imap C: A1 AUTHENTICATE XOAUTH2 [REDACTED]']);
});

test("a failed command's report ({ err, cid }) is kept as the command's failure", () => {
  const kept: unknown[] = [];
  const err = Object.assign(new Error('Command failed'), { responseStatus: 'NO' });
  imapLogger(capture().logger, (e) => kept.push(e)).warn({ err, cid: 'x1' });
  assert.deepEqual(kept, [err]);
});

test('a throttling or partial-FETCH warning is not taken for the failure of the next command that returns false', () => {
  const kept: unknown[] = [];
  const log = imapLogger(capture().logger, (e) => kept.push(e));
  log.warn({ msg: 'Throttling detected', cid: 'x1', throttleDelay: 100, delayResponse: 0, err: new Error('Request is throttled') });
  log.warn({ msg: 'Partial FETCH response', cid: 'x1', err: new Error('partial') });
  assert.deepEqual(kept, []);
});
