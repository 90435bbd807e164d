/**
 * What a measured child process is given and what it hands back. Each
 * measurement runs in a process of its own, so that its peak RSS is its own:
 * the parent passes a JSON config in BENCH_CHILD, the child prints one JSON
 * line last, with its wall time, its CPU time and its peak RSS at exit.
 */
import type { CorpusOptions } from '../corpus/corpus.js';

export interface ChildConfig {
  corpus: CorpusOptions;
  imap?: { host: string; port: number; user: string; accessToken: string };
  storage?: { connectionString: string; queue: string; container: string };
}

export interface ChildResult {
  /** Messages the child got through (the drain: handed off). */
  messages: number;
  /** Wall time of the measured work, ms. */
  ms: number;
  /** User and system CPU time of the measured work (all threads of the process), ms. */
  cpuMs: number;
  /** Peak resident set of the whole process (getrusage ru_maxrss), MiB. */
  maxRssMiB: number;
  /** Anything else the measurement knows (failures, round trips measured). */
  [detail: string]: unknown;
}

/** The simpleParser options the drain parses with (shared/mailbox/parseMessage.ts), so a stage and the baseline parse the same way. */
export const PARSER_OPTIONS = { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true } as const;

/** Blob uploads as the drain makes them (shared/outbox/storageLimits.ts): one request up to 4 MiB, then 4 MiB blocks, two at a time. */
export const UPLOAD_OPTIONS = { maxSingleShotSize: 4 * 1024 * 1024, blockSize: 4 * 1024 * 1024, concurrency: 2 } as const;

/** A queue message holds 64 KiB of base64: 48 KiB of JSON (shared/contract/queueMessage.ts). */
export const QUEUE_JSON_LIMIT = 48 * 1024;

export function childConfig(): ChildConfig {
  const text = process.env.BENCH_CHILD;
  if (!text) throw new Error('BENCH_CHILD is not set: this file is run by bench/drain.bench.ts');
  return JSON.parse(text) as ChildConfig;
}

/**
 * Prints the result line. `started` is when the measured work began; `cpuMs`, the CPU
 * time of the measured work when the clock was stopped in between (else the process's).
 */
export function finish(started: number, result: { messages: number; [detail: string]: unknown }, cpuMs = cpuMsOf(process.cpuUsage())): void {
  const ms = performance.now() - started;
  const line: ChildResult = { ...result, ms, cpuMs, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(line));
}

export const cpuMsOf = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
