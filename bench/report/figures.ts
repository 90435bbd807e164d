/**
 * The raw runs reduced to the figures the targets are about (issue 10):
 * medians per measurement, the slowest stage, and the ratios.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { median } from '../measure/childIo.js';
import type { ColdStart } from '../measure/coldStart.js';
import type { Outcome } from '../measure/runChild.js';
import type { ProfileName } from '../network/profiles.js';
import type { BenchOptions, Measure } from '../options.js';
import type { Runs } from '../suite.js';

export const TARGETS = {
  /** The drain's throughput as a share of its slowest stage's ceiling, in both profiles. */
  ofSlowestStage: 0.8,
  /** The drain over the one-at-a-time baseline, under the cloud profile. */
  ofBaseline: 10,
  peakRssMiB: 256,
  importMs: 300,
  importRssMiB: 60,
} as const;

export const STAGES = ['storage', 'imap', 'parse'] as const satisfies readonly Measure[];

export interface Figure {
  /** Runs that completed, and why the others did not. */
  runs: number;
  failures: string[];
  msgPerS: number;
  mbPerS: number;
  seconds: number;
  /** CPU time of the measured process over its wall time: near 1, it was CPU-bound on one core. */
  cpuShare: number;
  maxRssMiB: number;
  /** The link's round trip as the child measured it (stages only). */
  rttMs?: number;
}

export interface ProfileFigures {
  profile: ProfileName;
  figures: Partial<Record<Measure, Figure>>;
  slowestStage?: (typeof STAGES)[number];
  drainOfSlowestStage?: number;
  drainOverBaseline?: number;
}

export interface BenchFigures {
  startedAt: string;
  durationS: number;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; loadAverage: { start: number[]; end: number[] } };
  options: BenchOptions;
  corpus: { messages: number; bytes: number };
  coldStart?: ColdStart;
  profiles: ProfileFigures[];
  raw: { profile: ProfileName | 'any'; measure: Measure; outcomes: Outcome[] }[];
}

export function figureOf(outcomes: Outcome[] | undefined, corpusBytes: number): Figure | undefined {
  if (!outcomes || outcomes.length === 0) return undefined;
  const done = outcomes.flatMap((o) => (o.ok ? [o.result] : []));
  const failures = outcomes.flatMap((o) => (o.ok ? [] : [o.reason]));
  if (done.length === 0) return { runs: 0, failures, msgPerS: NaN, mbPerS: NaN, seconds: NaN, cpuShare: NaN, maxRssMiB: NaN };
  const bytesOf = (r: (typeof done)[number]) => (typeof r.bytes === 'number' ? r.bytes : corpusBytes);
  const rtts = done.flatMap((r) => (typeof r.rttMs === 'number' ? [r.rttMs] : []));
  return {
    runs: done.length,
    failures,
    msgPerS: median(done.map((r) => (r.messages / r.ms) * 1000)),
    mbPerS: median(done.map((r) => bytesOf(r) / 1e6 / (r.ms / 1000))),
    seconds: median(done.map((r) => r.ms / 1000)),
    cpuShare: median(done.map((r) => r.cpuMs / r.ms)),
    maxRssMiB: median(done.map((r) => r.maxRssMiB)),
    ...(rtts.length > 0 && { rttMs: median(rtts) }),
  };
}

export function profileFigures(profile: ProfileName, runs: Runs, parse: Outcome[] | undefined, corpusBytes: number): ProfileFigures {
  const figures: ProfileFigures['figures'] = {};
  for (const measure of ['drain', 'baseline', 'storage', 'imap'] as const) {
    const figure = figureOf(runs[measure], corpusBytes);
    if (figure) figures[measure] = figure;
  }
  const parsed = figureOf(parse, corpusBytes);
  if (parsed) figures.parse = parsed;
  const measuredStages = STAGES.filter((s) => figures[s] && figures[s]!.runs > 0);
  const slowestStage = measuredStages.sort((a, b) => figures[a]!.msgPerS - figures[b]!.msgPerS)[0];
  const drain = figures.drain?.runs ? figures.drain : undefined;
  return {
    profile,
    figures,
    slowestStage,
    ...(drain && slowestStage && { drainOfSlowestStage: drain.msgPerS / figures[slowestStage]!.msgPerS }),
    ...(drain && figures.baseline?.runs && { drainOverBaseline: drain.msgPerS / figures.baseline.msgPerS }),
  };
}

export function machine(loadAtStart: number[]): BenchFigures['machine'] {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: { start: loadAtStart, end: loadavg() },
  };
}
