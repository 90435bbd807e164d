/**
 * Cold start: a fresh Node.js process importing the compiled function module,
 * as the Functions host's worker does before the first invocation. Outside the
 * host, @azure/functions only records the registration. Measured in the child
 * itself: the import's wall and CPU time, and the process's peak RSS after it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { median } from './childIo.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FUNCTION_MODULE = 'dist/functions/drainMailbox.js';

const PROBE = `
const cpu = process.cpuUsage();
const started = performance.now();
await import('./${FUNCTION_MODULE}');
const importMs = performance.now() - started;
const used = process.cpuUsage(cpu);
console.log(JSON.stringify({
  importMs,
  cpuMs: (used.user + used.system) / 1000,
  processMs: performance.now(),
  maxRssMiB: process.resourceUsage().maxRSS / 1024,
}));
process.exit(0);
`;

export interface ColdStart {
  runs: number;
  /** Medians: the import's wall and CPU time, the process from its start to the end of the import, its peak RSS. */
  importMs: number;
  cpuMs: number;
  processMs: number;
  maxRssMiB: number;
  /** Peak RSS of `node -e ""`, for comparison: what Node.js itself takes. */
  nodeRssMiB: number;
}

async function probe(code: string, env: NodeJS.ProcessEnv): Promise<Record<string, number>> {
  // stderr is kept for a failure only: outside the host, @azure/functions warns on every import that it is in test mode.
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const [status] = (await once(child, 'exit')) as [number | null];
  if (status !== 0) throw new Error(`importing ${FUNCTION_MODULE} failed (exit ${status}); was npm run build run?\n${err}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
}

export async function measureColdStart(runs: number): Promise<ColdStart> {
  // The registration reads DRAIN_SCHEDULE: unset, it takes the default; nothing else is read at import.
  const env = { ...process.env };
  delete env.DRAIN_SCHEDULE;
  // The function app has no local CA to load; the benchmark's own process does.
  delete env.NODE_EXTRA_CA_CERTS;
  const results: Record<string, number>[] = [];
  for (let i = 0; i < runs; i++) results.push(await probe(PROBE, env));
  const bare = await probe('console.log(JSON.stringify({ maxRssMiB: process.resourceUsage().maxRSS / 1024 }))', env);
  const of = (key: string) => median(results.map((r) => r[key]!));
  return { runs, importMs: of('importMs'), cpuMs: of('cpuMs'), processMs: of('processMs'), maxRssMiB: of('maxRssMiB'), nodeRssMiB: bare.maxRssMiB! };
}
