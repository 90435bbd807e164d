/**
 * Stream-parsing gives what parsing whole gives: every message of the MIME
 * corpus, the generated hostile set and large generated messages, parsed both
 * ways (the stream in chunks of random sizes, so every boundary of a line, a
 * UTF-8 sequence or a CRLF falls somewhere), reduced to what the queue message
 * says of them, must be deep-equal: headers, addresses, date, bodies inline or
 * as their blob's size and SHA-256, attachments in order with their filename,
 * content type, Content-ID, disposition, size and SHA-256. A message
 * mailparser refuses is refused both ways.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BodyTextDecoder } from '../../../shared/mailbox/bodyText.js';
import { INLINE_BODY_LIMIT } from '../../../shared/contract/queueMessage.js';
import { chunked, parsedStreamed, parsedWhole } from '../../support/parseBothWays.js';
import { hostileMessages } from '../../support/hostileMail.js';
import { largeMessages } from '../../support/largeMail.js';
import { prng } from '../../support/prng.js';

const CORPUS = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/mime-corpus');
const corpus = ['mailparser', 'mimekit'].flatMap((folder) =>
  readdirSync(join(CORPUS, folder))
    .filter((file) => file !== 'LICENSE')
    .sort()
    .map((file) => ({ name: `${folder}/${file}`, raw: readFileSync(join(CORPUS, folder, file)) })),
);

/** How many of `messages` mailparser refused (both ways). */
async function assertSameBothWays(messages: { name: string; raw: Buffer }[], seed: number): Promise<number> {
  let refused = 0;
  for (const [i, { name, raw }] of messages.entries()) {
    const whole = await parsedWhole(raw);
    assert.deepEqual(await parsedStreamed(chunked(raw, seed + i)), whole, name);
    if ('error' in whole) refused++;
  }
  return refused;
}

test('every message of the MIME corpus: the same streamed as whole', async () => {
  assert.ok(corpus.length >= 40);
  await assertSameBothWays(corpus, 1);
});

test('the generated hostile set: the same streamed as whole, refusals included', async () => {
  const refused = await assertSameBothWays(hostileMessages(), 1000);
  assert.ok(refused > 0, 'some are refused, and refused streamed too');
});

test('large generated messages: bodies over INLINE_BODY_LIMIT as blobs, several parts in one body, embedded headers, attachments', async () => {
  const large = largeMessages();
  for (const [i, { name, raw }] of large.entries()) {
    const whole = await parsedWhole(raw);
    assert.ok(!('error' in whole), `${name}: parsed`);
    // In one chunk, and in chunks of a few bytes to 64 KiB.
    assert.deepEqual(await parsedStreamed(chunked(raw, 77 + i, raw.length)), whole, `${name}, whole at once`);
    assert.deepEqual(await parsedStreamed(chunked(raw, 77 + i)), whole, name);
  }
  const spilled = (await Promise.all(large.map(({ raw }) => parsedWhole(raw)))) as { text: { blob?: unknown }; html: { blob?: unknown } }[];
  assert.ok(spilled.some((m) => m.text.blob) && spilled.some((m) => m.html.blob) && spilled.some((m) => m.text.blob && m.html.blob));
});

test('a body exactly at INLINE_BODY_LIMIT stays inline; a byte more goes to its blob', async () => {
  for (const extra of [-1, 0, 1]) {
    const body = 'x'.repeat(INLINE_BODY_LIMIT + extra);
    const raw = Buffer.from(`Subject: edge\r\nContent-Type: text/plain\r\n\r\n${body}`);
    const whole = await parsedWhole(raw);
    assert.deepEqual(await parsedStreamed(chunked(raw, 5)), whole);
    assert.equal((whole as { text: { inline: string | null } }).text.inline === null, extra > 0);
  }
});

test('text decoded piece by piece equals text decoded whole, whatever the bytes and wherever the cuts', () => {
  const random = prng(7);
  const alphabet = [0x0d, 0x0a, 0x41, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x90, 0x8f];
  for (let n = 0; n < 20_000; n++) {
    const bytes = Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => (random() < 0.3 ? Math.floor(random() * 256) : alphabet[Math.floor(random() * alphabet.length)]!)));
    const decoder = new BodyTextDecoder();
    let text = '';
    for (let at = 0; at < bytes.length; ) {
      const k = 1 + Math.floor(random() * 4);
      text += decoder.write(bytes.subarray(at, at + k));
      at += k;
    }
    text += decoder.end();
    assert.equal(text, bytes.toString('utf8').replace(/\r?\n/g, '\n'), bytes.toString('hex'));
  }
});
