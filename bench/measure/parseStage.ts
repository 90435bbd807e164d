/**
 * The parse ceiling: mailparser's simpleParser over the corpus, one message at
 * a time, in memory, with the drain's options. Only the parsing is timed: the
 * corpus is generated here, message by message, off the clock.
 */
import { simpleParser } from 'mailparser';
import { corpus } from '../corpus/corpus.js';
import { childConfig, cpuMsOf, finish, PARSER_OPTIONS } from './childIo.js';

const config = childConfig();
let messages = 0;
let parsingMs = 0;
let parsingCpuMs = 0;
let attachments = 0;
let bytes = 0;
const started = performance.now();
for (const message of corpus(config.corpus)) {
  const before = performance.now();
  const cpu = process.cpuUsage();
  const parsed = await simpleParser(message.raw, PARSER_OPTIONS);
  parsingCpuMs += cpuMsOf(process.cpuUsage(cpu));
  parsingMs += performance.now() - before;
  attachments += parsed.attachments.length;
  messages++;
  bytes += message.raw.length;
}
const total = performance.now() - started;
// The child's wall time is the parsing alone; generating the corpus took the rest.
finish(performance.now() - parsingMs, { messages, bytes, attachments, generatingMs: total - parsingMs }, parsingCpuMs);
