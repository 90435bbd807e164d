/**
 * The product's drain in a process of its own, so that a test can kill it -9
 * at any moment, as a host crash, an OOM kill or a scale-in does.
 *
 * Run as a script, this file is that process: the real command line
 * (`mail-drain drain --json`, shared/operate/cli.ts) with its settings in the
 * environment, exactly as the timer's host provides them. Imported, it starts
 * such processes and follows their log line by line.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { DrainReport } from '../../shared/drain/drain.js';

const SELF = fileURLToPath(import.meta.url);

export interface DrainExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The report it printed, when it got that far. */
  report?: DrainReport;
}

export interface DrainProcess {
  pid: number;
  /** Every line of the drain's log (stderr), in order. */
  lines: string[];
  /** Calls `listener` with each log line as it arrives. */
  onLine(listener: (line: string) => void): void;
  exited: Promise<DrainExit>;
  /** SIGKILL: no finally block, no lease release, no IMAP logout. */
  kill(): void;
}

/** Starts `mail-drain drain --json` with exactly `env` (plus PATH) as its environment. */
export function startDrainProcess(env: Record<string, string>): DrainProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    lines.push(line);
    for (const listener of listeners) listener(line);
  });
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const exited = once(child, 'close').then(([code, signal]) => {
    let report: DrainReport | undefined;
    try {
      report = stdout.trim() ? (JSON.parse(stdout) as DrainReport) : undefined;
    } catch {
      report = undefined; // killed mid-print, or a failure message instead of a report
    }
    return { code: code as number | null, signal: signal as NodeJS.Signals | null, report };
  });
  return {
    pid: child.pid!,
    lines,
    onLine: (listener) => listeners.push(listener),
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

if (process.argv[1] === SELF) {
  const { main } = await import('../../shared/operate/cli.js');
  process.exitCode = await main(['drain', '--json']);
}
