/**
 * The IMAP ceiling: how fast this server, over this link, can hand the whole
 * folder over with imapflow: one UID FETCH 1:* BODY.PEEK[] (nothing marked
 * \Seen, the folder unchanged), every byte received and thrown away. Before
 * it, the round trip of the link as this client sees it (median of NOOPs).
 */
import { childConfig, cpuMsOf, finish, median } from './childIo.js';
import { connectImap } from './imapConnect.js';

const ROUND_TRIPS = 7;

const { imap } = childConfig();
if (!imap) throw new Error('the IMAP stage needs imap in BENCH_CHILD');

const client = await connectImap(imap);
const lock = await client.getMailboxLock('INBOX');
let messages = 0;
let bytes = 0;
let rttMs = 0;
let started = performance.now();
let cpu = process.cpuUsage();
try {
  const trips: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const sent = performance.now();
    await client.noop();
    trips.push(performance.now() - sent);
  }
  rttMs = median(trips);
  started = performance.now();
  cpu = process.cpuUsage();
  for await (const message of client.fetch('1:*', { uid: true, source: true }, { uid: true })) {
    if (!message.source) continue;
    messages++;
    bytes += message.source.length;
  }
} finally {
  lock.release();
}
finish(started, { messages, bytes, rttMs }, cpuMsOf(process.cpuUsage(cpu)));
await client.logout();
