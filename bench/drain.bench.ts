/**
 * `npm run bench`: throughput and memory of a drain on the local stack.
 *
 * Each drain runs in its own process (bench/drainChild.ts) against the same
 * local stack, so its peak RSS is the drain's own. Mailboxes of two sizes are
 * drained REPEAT times each; the report gives medians and the ratios that
 * matter on a shared, noisy machine: messages per second relative to the small
 * mailbox, and peak memory of the large mailbox over the small one (a drain that
 * streams stays near 1.0 however large the mailbox).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { demoMessages } from '../local/demoMailbox.js';
import { startLocalStack } from '../local/stack.js';

const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const SIZES = (process.env.BENCH_SIZES ?? '100,400,1600').split(',').map(Number);
const CHILD = fileURLToPath(new URL('./drainChild.ts', import.meta.url));

interface Run {
  handedOff: number;
  ms: number;
  maxRssMiB: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const demo = await demoMessages('invoices@contoso.example');
const stack = await startLocalStack();
async function runOnce(size: number): Promise<Run> {
  await stack.reseed(Array.from({ length: size }, (_, i) => ({ raw: demo[i % demo.length]!.raw })));
  const env = { ...process.env, ...stack.settings, ...stack.platformEnv };
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`drain exited with ${code}`);
  const run = JSON.parse(out.trim().split('\n').at(-1)!) as Run;
  if (run.handedOff !== size) throw new Error(`handed off ${run.handedOff} of ${size}`);
  return run;
}

try {
  const results = new Map<number, Run[]>();
  for (let r = 0; r < REPEAT; r++) {
    for (const size of SIZES) {
      const run = await runOnce(size);
      results.set(size, [...(results.get(size) ?? []), run]);
      console.error(`run ${r + 1}/${REPEAT}, ${size} messages: ${run.ms.toFixed(0)} ms, peak RSS ${run.maxRssMiB.toFixed(0)} MiB`);
    }
  }
  const rows = SIZES.map((size) => {
    const runs = results.get(size)!;
    return { size, perSecond: median(runs.map((r) => (r.handedOff / r.ms) * 1000)), rss: median(runs.map((r) => r.maxRssMiB)) };
  });
  const [small] = rows;
  console.log(`\nDrain benchmark: medians of ${REPEAT} runs each (mix of the ${demo.length} demo messages, local stack)`);
  console.log('messages  msg/s   vs smallest  peak RSS MiB  vs smallest');
  for (const row of rows) {
    console.log(
      `${String(row.size).padStart(8)}  ${row.perSecond.toFixed(1).padStart(6)}  ${(row.perSecond / small!.perSecond).toFixed(2).padStart(11)}  ` +
        `${row.rss.toFixed(0).padStart(12)}  ${(row.rss / small!.rss).toFixed(2).padStart(11)}`,
    );
  }
} finally {
  await stack.stop();
}
