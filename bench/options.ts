/**
 * The benchmark's knobs, from the environment, checked once.
 *
 *   BENCH_MESSAGES      corpus size, 1 to 50,000 (default 2,000: about 340 MB)
 *   BENCH_SINGLE_LARGE  1: one 150 MB message instead (MAX_MESSAGE_BYTES raised above it)
 *   BENCH_PROFILES      loopback,cloud (default both)
 *   BENCH_REPEAT        runs of each corpus measurement; medians when more than 1 (default 1)
 *   BENCH_MEASURES      drain,baseline,storage,imap,parse (default all)
 *   BENCH_SEED          the corpus's seed (default 1)
 *   BENCH_COLD_STARTS   cold-start imports, median (default 5; 0 skips them)
 *   BENCH_CHILD_TIMEOUT_S  a measurement's time limit, seconds (default 1800)
 *   BENCH_CPU_PROFILE   1: the drain runs under --cpu-prof, its profiles in bench/results/profiles/
 *                       (open them in Chrome DevTools; the profiler slows the drain a little)
 *   BENCH_DRAIN_NODE_ARGS  Node.js flags for the drain's process alone, e.g. "--max-old-space-size=128",
 *                       as a function app sets them with languageWorkers__node__arguments
 */
import { PROFILES, type ProfileName } from './network/profiles.js';

export const MEASURES = ['drain', 'baseline', 'storage', 'imap', 'parse'] as const;
export type Measure = (typeof MEASURES)[number];
export const MAX_MESSAGES = 50_000;

export interface BenchOptions {
  messages: number;
  singleLarge: boolean;
  profiles: ProfileName[];
  repeat: number;
  measures: Measure[];
  seed: number;
  coldStarts: number;
  childTimeoutMs: number;
  cpuProfile: boolean;
  drainNodeArgs: string[];
}

export function benchOptions(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const problems: string[] = [];
  const whole = (name: string, fallback: number, min: number, max: number) => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`${name}=${text}: a whole number from ${min} to ${max}`);
    return value;
  };
  const list = <T extends string>(name: string, allowed: readonly T[]): T[] => {
    const items = (env[name] ?? allowed.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
    const wrong = items.filter((item) => !allowed.includes(item as T));
    if (wrong.length > 0 || items.length === 0) problems.push(`${name}=${env[name]}: a comma-separated list of ${allowed.join(', ')}`);
    return items as T[];
  };
  const options: BenchOptions = {
    messages: whole('BENCH_MESSAGES', 2000, 1, MAX_MESSAGES),
    singleLarge: /^(1|true|yes)$/i.test(env.BENCH_SINGLE_LARGE ?? ''),
    profiles: list('BENCH_PROFILES', Object.keys(PROFILES) as ProfileName[]),
    repeat: whole('BENCH_REPEAT', 1, 1, 100),
    measures: list('BENCH_MEASURES', MEASURES),
    seed: whole('BENCH_SEED', 1, 0, 2 ** 31 - 1),
    coldStarts: whole('BENCH_COLD_STARTS', 5, 0, 100),
    childTimeoutMs: whole('BENCH_CHILD_TIMEOUT_S', 1800, 10, 24 * 3600) * 1000,
    cpuProfile: /^(1|true|yes)$/i.test(env.BENCH_CPU_PROFILE ?? ''),
    drainNodeArgs: (env.BENCH_DRAIN_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
  };
  if (problems.length > 0) throw new Error(`Bad benchmark settings:\n  ${problems.join('\n  ')}`);
  if (options.singleLarge) options.messages = 1;
  return options;
}
