/**
 * `npm run bench`: does the drain keep up with what it drains from and into?
 *
 * Over one seeded corpus (bench/corpus/), in each network profile
 * (bench/network/profiles.ts), each in a process of its own so that its peak
 * RSS is its own:
 *
 *   the drain       the product's drain() against Dovecot and Azurite
 *   the baseline    one message at a time, plain imapflow + mailparser + SDKs
 *   the ceilings    each stage alone: Storage writes, one IMAP FETCH, parsing
 *
 * and, once, the cold start of the compiled function module. Numbers are
 * reported, never asserted: a Markdown table on stdout and in
 * bench/results/<timestamp>.md, a chart (.svg) and the raw figures (.json).
 * Knobs: bench/options.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startLocalStack } from '../local/stack.js';
import { ensureDovecot, startDovecot } from '../test/support/dovecot.js';
import { measureColdStart } from './measure/coldStart.js';
import { benchOptions } from './options.js';
import { chart } from './report/chart.js';
import { machine, profileFigures, type BenchFigures } from './report/figures.js';
import { markdown } from './report/markdown.js';
import { runParse, runProfile, type BenchContext, type Runs } from './suite.js';
import type { ProfileName } from './network/profiles.js';
import type { Outcome } from './measure/runChild.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

const options = benchOptions();
const started = Date.now();
const loadAtStart = loadavg();
const progress = (line: string) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const dovecotAvailable = ensureDovecot();
if (!dovecotAvailable.available) throw new Error(`The benchmark drains a real Dovecot: ${dovecotAvailable.reason}`);

// The measured children run compiled, as the function app does: no TypeScript loader in the memory measured.
progress('npm run build');
const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
if (build.status !== 0) throw new Error('npm run build failed');

const coldStart = options.coldStarts > 0 ? await measureColdStart(options.coldStarts) : undefined;
if (coldStart) progress(`cold start: import ${coldStart.importMs.toFixed(0)} ms, CPU ${coldStart.cpuMs.toFixed(0)} ms, peak RSS ${coldStart.maxRssMiB.toFixed(1)} MiB`);

const stack = await startLocalStack();
const dovecot = await startDovecot({ entra: stack.entra });
const ctx: BenchContext = {
  stack,
  dovecot,
  options,
  corpus: { messages: options.messages, seed: options.seed, singleLarge: options.singleLarge, to: stack.mailbox },
  progress,
};
const profileRuns: [ProfileName, Runs][] = [];
let parse: Outcome[] | undefined;
try {
  if (options.measures.includes('parse')) parse = await runParse(ctx);
  for (const profile of options.profiles) profileRuns.push([profile, await runProfile(profile, ctx)]);
} finally {
  await dovecot.stop();
  await stack.stop();
}

// Every measurement read the same corpus; its size comes from the seeding, or from a stage that counted it.
const counted = [...profileRuns.flatMap(([, runs]) => Object.values(runs).flat()), ...(parse ?? [])].flatMap((o) =>
  o.ok && typeof o.result.bytes === 'number' ? [o.result.bytes] : [],
);
const corpusBytes = ctx.seeded?.bytes ?? counted[0] ?? NaN;
const figures: BenchFigures = {
  startedAt: new Date(started).toISOString(),
  durationS: (Date.now() - started) / 1000,
  machine: machine(loadAtStart),
  options,
  corpus: { messages: ctx.seeded?.messages ?? options.messages, bytes: corpusBytes },
  coldStart,
  profiles: profileRuns.map(([profile, runs]) => profileFigures(profile, runs, parse, corpusBytes)),
  raw: [
    ...profileRuns.flatMap(([profile, runs]) => Object.entries(runs).map(([measure, outcomes]) => ({ profile, measure, outcomes }) as BenchFigures['raw'][number])),
    ...(parse ? [{ profile: 'any' as const, measure: 'parse' as const, outcomes: parse }] : []),
  ],
};

const table = markdown(figures);
const stamp = figures.startedAt.replace(/[:.]/g, '-');
mkdirSync(RESULTS, { recursive: true });
writeFileSync(`${RESULTS}${stamp}.md`, table);
writeFileSync(`${RESULTS}${stamp}.svg`, chart(figures));
writeFileSync(`${RESULTS}${stamp}.json`, JSON.stringify(figures, null, 2) + '\n');
console.log(`\n${table}`);
progress(`written: bench/results/${stamp}.{md,svg,json}`);
