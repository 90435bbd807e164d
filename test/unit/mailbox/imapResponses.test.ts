/** What imapflow's errors say about the server's answer: whether it refused, and in which words. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeImap, isRefusal } from '../../../shared/mailbox/imapResponses.js';

const answered = (responseStatus: string, responseText = '') => Object.assign(new Error('Command failed'), { responseStatus, responseText });
const wrapped = (cause: unknown, depth: number): unknown => (depth === 0 ? cause : new Error(`wrapper ${depth}`, { cause: wrapped(cause, depth - 1) }));

test('isRefusal: the server answering NO or BAD is a refusal; OK, BYE or no answer is not', () => {
  assert.equal(isRefusal(answered('NO', 'Message not found')), true);
  assert.equal(isRefusal(answered('BAD', 'Command Argument Error. 11')), true);
  for (const status of ['OK', 'BYE', 'PREAUTH', 'no', '']) assert.equal(isRefusal(answered(status)), false, status);
  assert.equal(isRefusal(Object.assign(new Error('Connection not available'), { code: 'NoConnection' })), false);
});

test('isRefusal finds the answer through cause chains, three wrappers deep', () => {
  for (const depth of [1, 2, 3]) assert.equal(isRefusal(wrapped(answered('NO'), depth)), true, `${depth} deep`);
  assert.equal(isRefusal(wrapped(new Error('socket closed'), 3)), false);
});

test('isRefusal stops after four errors of a chain, so a cyclic cause cannot hang it', () => {
  assert.equal(isRefusal(wrapped(answered('NO'), 4)), false, 'a fifth error is not looked at');
  const a: Error & { cause?: unknown } = new Error('a');
  a.cause = new Error('b', { cause: a });
  assert.equal(isRefusal(a), false);
});

test('isRefusal of what is not an error is false', () => {
  for (const value of [undefined, null, 'NO', 0, {}]) assert.equal(isRefusal(value), false, String(value));
});

test('describeImap: the server\'s own text, first line only, so a server cannot forge the next log line', () => {
  assert.equal(describeImap(answered('NO', 'Message not found')), 'Message not found');
  assert.equal(describeImap(answered('NO', 'Mailbox is busy\r\n* BYE forged line')), 'Mailbox is busy');
  assert.equal(describeImap(answered('NO', 'first\rsecond')), 'first');
  assert.equal(describeImap(answered('NO', 'first\nsecond')), 'first');
});

test('describeImap: without a response text, the error\'s message, first line; for anything else, its text', () => {
  assert.equal(describeImap(answered('NO', '')), 'Command failed');
  assert.equal(describeImap(new Error('Connection closed\nat socket')), 'Connection closed');
  assert.equal(describeImap('plain text\nsecond'), 'plain text');
  assert.equal(describeImap(42), '42');
});
