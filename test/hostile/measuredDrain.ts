/**
 * One drain in a process of its own, reporting what it cost in memory: the
 * drain's memory alone, without the test's in-process IMAP server (which keeps
 * every message, and its own parse of it, in the test process).
 *
 * Run by drainInProcess() below with --expose-gc and the test stack's settings
 * in HOSTILE_DRAIN_SETTINGS; prints one JSON line { report, memory } on stdout.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { drain, type DrainReport } from '../../shared/drain/drain.js';
import { createLogger } from '../../shared/errors/logger.js';
import { loadSettings } from '../../shared/config/loadSettings.js';

export interface MemoryUse {
  rss: number;
  heapUsed: number;
  /** Buffers (a fetched message source, stream chunks, upload blocks). */
  arrayBuffers: number;
}

export interface DrainMemory {
  /** After start-up and a full GC, just before the drain. */
  before: MemoryUse;
  /** The highest each reached during the drain (sampled every 5 ms; rss also from the kernel's high-water mark). */
  peak: MemoryUse;
  /** After the drain and a full GC: what the drain left behind. */
  after: MemoryUse;
}

const SETTINGS_VARIABLE = 'HOSTILE_DRAIN_SETTINGS';

/** Runs drain() with `settings` (names as app settings) in a child process; rejects when it fails. */
export async function drainInProcess(settings: Record<string, string>): Promise<{ report: DrainReport; memory: DrainMemory }> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, [SETTINGS_VARIABLE]: JSON.stringify(settings) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [stdout, stderr] = [[] as Buffer[], [] as Buffer[]];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`the drain process exited with ${code}:\n${Buffer.concat(stderr).toString('utf8').slice(-4000)}`);
  return JSON.parse(Buffer.concat(stdout).toString('utf8'));
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const sample = (): MemoryUse => {
    const { rss, heapUsed, arrayBuffers } = process.memoryUsage();
    return { rss, heapUsed, arrayBuffers };
  };
  const settled = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return sample();
  };
  const warnings = (line: string) => process.stderr.write(`${line}\n`);
  const logger = createLogger({ debug: () => {}, info: () => {}, warn: warnings, error: warnings }, 'info');
  const settings = loadSettings(JSON.parse(process.env[SETTINGS_VARIABLE]!));

  const before = await settled();
  const maxRssBefore = process.resourceUsage().maxRSS * 1024;
  const peak = { ...before };
  const timer = setInterval(() => {
    const now = sample();
    for (const key of Object.keys(peak) as (keyof MemoryUse)[]) peak[key] = Math.max(peak[key], now[key]);
  }, 5);
  const report = await drain(settings, logger);
  clearInterval(timer);
  // The kernel's high-water mark also sees a peak between two samples (a busy event loop takes none).
  const maxRssAfter = process.resourceUsage().maxRSS * 1024;
  if (maxRssAfter > maxRssBefore) peak.rss = Math.max(peak.rss, maxRssAfter);
  const after = await settled();
  process.stdout.write(`${JSON.stringify({ report, memory: { before, peak, after } })}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
