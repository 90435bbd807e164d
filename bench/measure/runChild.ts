/**
 * Runs one measurement in a child process of its own (compiled, from dist/:
 * no TypeScript loader in the process whose memory is measured) and reads the
 * JSON line it prints last. A child that fails or outlives its time limit is a
 * failed run, recorded with its reason; the benchmark goes on without it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ChildConfig, ChildResult } from './childIo.js';

export type Outcome = { ok: true; result: ChildResult } | { ok: false; reason: string };

/** The compiled child for `bench/measure/<name>.ts`. */
export function childScript(name: string): string {
  return fileURLToPath(new URL(`../../dist/bench/measure/${name}.js`, import.meta.url));
}

export async function runChild(
  name: string,
  options: { env: NodeJS.ProcessEnv; config?: ChildConfig; timeoutMs: number; expectMessages?: number; execArgv?: string[] },
): Promise<Outcome> {
  const env = { ...options.env, ...(options.config && { BENCH_CHILD: JSON.stringify(options.config) }) };
  const child = spawn(process.execPath, [...(options.execArgv ?? []), childScript(name)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  const tail = stderr.trim().split('\n').slice(-5).join('\n');
  if (timedOut) return { ok: false, reason: `timed out after ${Math.round(options.timeoutMs / 1000)} s` };
  if (code !== 0) return { ok: false, reason: `exited with ${signal ?? code}${tail ? `: ${tail}` : ''}` };
  let result: ChildResult;
  try {
    result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ChildResult;
  } catch {
    return { ok: false, reason: `printed no result${tail ? `: ${tail}` : ''}` };
  }
  if (options.expectMessages !== undefined && result.messages !== options.expectMessages) {
    return { ok: false, reason: `got through ${result.messages} of ${options.expectMessages} messages${tail ? `: ${tail}` : ''}` };
  }
  return { ok: true, result };
}
