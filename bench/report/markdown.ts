/** The benchmark's figures as Markdown: what was measured, then each target and whether it is met. */
import type { Measure } from '../options.js';
import { TARGETS, type BenchFigures, type Figure, type ProfileFigures } from './figures.js';

export const LABELS: Record<Measure, string> = {
  drain: 'the drain, drain()',
  baseline: 'baseline, one at a time',
  storage: 'Storage ceiling, 32 in flight',
  imap: 'IMAP ceiling, one UID FETCH 1:*',
  parse: 'parse ceiling, simpleParser',
};
const ORDER: Measure[] = ['drain', 'baseline', 'storage', 'imap', 'parse'];

const num = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? '**met**' : '**not met**');

function row(p: ProfileFigures, measure: Measure, f: Figure): string {
  const name = measure === p.slowestStage ? `${LABELS[measure]} (slowest stage)` : LABELS[measure];
  const failed = f.failures.length ? ` ⚠ ${f.failures.length} failed: ${f.failures.join('; ').replace(/\|/g, '\\|').replace(/\n/g, ' ')}` : '';
  // A corpus of one large message goes at a fraction of a message a second.
  return `| ${p.profile} | ${name}${failed} | ${num(f.msgPerS, f.msgPerS < 10 ? 2 : 1)} | ${num(f.mbPerS)} | ${num(f.seconds)} | ${num(f.cpuShare, 2)} | ${num(f.maxRssMiB, 0)} | ${num(f.rttMs)} |`;
}

export function markdown(b: BenchFigures): string {
  const o = b.options;
  const corpus = o.singleLarge
    ? `one message of ${num(b.corpus.bytes / 1e6)} MB (a 50 MiB body of control characters; MAX_MESSAGE_BYTES raised above it)`
    : `${b.corpus.messages.toLocaleString('en-US')} messages, ${num(b.corpus.bytes / 1e6)} MB (seed ${o.seed})`;
  const m = b.machine;
  const lines = [
    `# mail-drain benchmark, ${b.startedAt}`,
    '',
    `Corpus: ${corpus}. Machine: ${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, Node.js ${m.node}; load average ${m.loadAverage.start[0]!.toFixed(2)} at the start, ` +
      `${m.loadAverage.end[0]!.toFixed(2)} at the end. ${o.repeat === 1 ? 'One run of each' : `Medians of ${o.repeat} runs`}; the whole benchmark took ${num(b.durationS / 60)} min.`,
    '',
    '| profile | measurement | msg/s | MB/s | s | CPU / wall | peak RSS MiB | RTT ms |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const p of b.profiles) for (const measure of ORDER) if (p.figures[measure]) lines.push(row(p, measure, p.figures[measure]!));
  lines.push(
    '',
    'MB = 10⁶ bytes of MIME as stored; CPU / wall is the measured process alone (Dovecot, Azurite and the proxies run beside it); RTT is the round trip each stage measured before it started (IMAP NOOP, queue properties).',
    '',
    '## Against the targets',
    '',
    `| target | ${b.profiles.map((p) => p.profile).join(' | ')} | |`,
    `|---|${b.profiles.map(() => '---:|').join('')}---|`,
  );
  const cells = (value: (p: ProfileFigures) => string) => b.profiles.map(value).join(' | ');
  const all = (test: (p: ProfileFigures) => boolean | undefined) => {
    const results = b.profiles.map(test).filter((r) => r !== undefined);
    return results.length === 0 ? undefined : results.every(Boolean);
  };
  lines.push(
    `| drain ≥ ${TARGETS.ofSlowestStage * 100}% of its slowest stage, both profiles | ${cells((p) => (p.drainOfSlowestStage === undefined ? '–' : `${num(p.drainOfSlowestStage * 100, 0)}% of ${p.slowestStage}`))} | ${verdict(all((p) => (p.drainOfSlowestStage === undefined ? undefined : p.drainOfSlowestStage >= TARGETS.ofSlowestStage)))} |`,
  );
  const cloud = b.profiles.find((p) => p.profile === 'cloud');
  lines.push(
    `| drain ≥ ${TARGETS.ofBaseline}× the one-at-a-time baseline, cloud | ${cells((p) => (p.drainOverBaseline === undefined ? '–' : `${num(p.drainOverBaseline)}×`))} | ${verdict(cloud?.drainOverBaseline === undefined ? undefined : cloud.drainOverBaseline >= TARGETS.ofBaseline)} |`,
  );
  const rss = (p: ProfileFigures) => p.figures.drain?.maxRssMiB;
  lines.push(
    `| drain peak RSS < ${TARGETS.peakRssMiB} MiB | ${cells((p) => (rss(p) === undefined ? '–' : `${num(rss(p), 0)} MiB (${num((rss(p)! / TARGETS.peakRssMiB) * 100, 0)}%)`))} | ${verdict(all((p) => (rss(p) === undefined || Number.isNaN(rss(p)) ? undefined : rss(p)! < TARGETS.peakRssMiB)))} |`,
  );
  const c = b.coldStart;
  if (c) {
    const span = b.profiles.length;
    const spread = (text: string) => [text, ...Array(Math.max(0, span - 1)).fill('')].join(' | ');
    lines.push(
      `| importing the function module < ${TARGETS.importMs} ms | ${spread(`${num(c.importMs, 0)} ms (${num((c.importMs / TARGETS.importMs) * 100, 0)}%)`)} | ${verdict(c.importMs < TARGETS.importMs)} |`,
      `| … and < ${TARGETS.importRssMiB} MiB peak RSS | ${spread(`${num(c.maxRssMiB, 0)} MiB (${num((c.maxRssMiB / TARGETS.importRssMiB) * 100, 0)}%)`)} | ${verdict(c.maxRssMiB < TARGETS.importRssMiB)} |`,
      '',
      `## Cold start (median of ${c.runs})`,
      '',
      '| import wall ms | import CPU ms | process start to imported, ms | peak RSS MiB | `node -e ""` peak RSS MiB |',
      '|---:|---:|---:|---:|---:|',
      `| ${num(c.importMs, 0)} | ${num(c.cpuMs, 0)} | ${num(c.processMs, 0)} | ${num(c.maxRssMiB)} | ${num(c.nodeRssMiB)} |`,
    );
  }
  return lines.join('\n') + '\n';
}
