/**
 * The figures as a hand-written SVG bar chart: messages per second of the
 * drain, the baseline and each stage's ceiling per profile (log scale: the
 * ceilings and the baseline lie orders of magnitude apart), and peak RSS
 * against the 256 MiB target.
 */
import type { Measure } from '../options.js';
import { TARGETS, type BenchFigures } from './figures.js';
import { LABELS } from './markdown.js';

const COLORS: Record<Measure, string> = { drain: '#1f6feb', baseline: '#8b949e', storage: '#d29922', imap: '#2da44e', parse: '#a371f7' };
const ORDER: Measure[] = ['drain', 'baseline', 'storage', 'imap', 'parse'];
const PANEL = { width: 460, height: 300, top: 50, left: 60, bottom: 40 };
const BAR = 16;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const text = (x: number, y: number, content: string, attrs = '') => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escape(content)}</text>`;

interface Panel {
  title: string;
  value: (measure: Measure, profile: number) => number | undefined;
  /** Maps a value to 0..1 of the plot's height, and the gridlines to draw. */
  scale: (v: number) => number;
  grid: number[];
  format: (v: number) => string;
  target?: { value: number; label: string };
}

function panel(b: BenchFigures, p: Panel, x0: number): string {
  const plotHeight = PANEL.height - PANEL.top - PANEL.bottom;
  const baseY = PANEL.top + plotHeight;
  const out = [text(x0 + PANEL.left, 24, p.title, 'font-weight="bold"')];
  for (const g of p.grid) {
    const y = baseY - p.scale(g) * plotHeight;
    out.push(`<line x1="${x0 + PANEL.left}" x2="${x0 + PANEL.width - 10}" y1="${y}" y2="${y}" stroke="#d0d7de"/>`, text(x0 + PANEL.left - 6, y + 4, p.format(g), 'text-anchor="end"'));
  }
  const groupWidth = (PANEL.width - PANEL.left - 20) / Math.max(1, b.profiles.length);
  b.profiles.forEach((profile, i) => {
    const gx = x0 + PANEL.left + i * groupWidth + (groupWidth - ORDER.length * (BAR + 4)) / 2;
    ORDER.forEach((measure, j) => {
      const v = p.value(measure, i);
      if (v === undefined || !Number.isFinite(v) || v <= 0) return;
      const h = Math.max(1, p.scale(v) * plotHeight);
      const x = gx + j * (BAR + 4);
      out.push(
        `<rect x="${x}" y="${(baseY - h).toFixed(1)}" width="${BAR}" height="${h.toFixed(1)}" fill="${COLORS[measure]}"><title>${escape(`${profile.profile}, ${LABELS[measure]}: ${p.format(v)}`)}</title></rect>`,
        text(x + BAR / 2, baseY - h - 4, p.format(v), 'text-anchor="middle" font-size="9"'),
      );
    });
    out.push(text(x0 + PANEL.left + i * groupWidth + groupWidth / 2, baseY + 18, profile.profile, 'text-anchor="middle"'));
  });
  if (p.target) {
    const y = baseY - p.scale(p.target.value) * plotHeight;
    out.push(`<line x1="${x0 + PANEL.left}" x2="${x0 + PANEL.width - 10}" y1="${y}" y2="${y}" stroke="#cf222e" stroke-dasharray="6 3"/>`, text(x0 + PANEL.width - 12, y - 4, p.target.label, 'text-anchor="end" fill="#cf222e"'));
  }
  return out.join('\n');
}

export function chart(b: BenchFigures): string {
  const figure = (measure: Measure, i: number) => b.profiles[i]?.figures[measure];
  const rates = ORDER.flatMap((m) => b.profiles.map((_, i) => figure(m, i)?.msgPerS ?? NaN)).filter((v) => v > 0);
  const top = Math.ceil(Math.log10(Math.max(10, ...rates)));
  const bottom = Math.min(0, Math.floor(Math.log10(Math.min(1, ...rates))));
  const log = (v: number) => (Math.log10(v) - bottom) / (top - bottom);
  const rssMax = Math.max(TARGETS.peakRssMiB * 1.2, ...ORDER.flatMap((m) => b.profiles.map((_, i) => figure(m, i)?.maxRssMiB ?? 0)).filter(Number.isFinite));
  const rssTop = Math.ceil(rssMax / 128) * 128;
  const throughput = panel(
    b,
    {
      title: 'messages per second (log scale)',
      value: (m, i) => figure(m, i)?.msgPerS,
      scale: log,
      grid: Array.from({ length: top - bottom + 1 }, (_, k) => 10 ** (bottom + k)),
      format: (v) => (v >= 100 ? v.toFixed(0) : v.toPrecision(2)),
    },
    0,
  );
  const memory = panel(
    b,
    {
      title: 'peak RSS, MiB',
      value: (m, i) => figure(m, i)?.maxRssMiB,
      scale: (v) => v / rssTop,
      grid: Array.from({ length: rssTop / 128 + 1 }, (_, k) => k * 128),
      format: (v) => v.toFixed(0),
      target: { value: TARGETS.peakRssMiB, label: `target ${TARGETS.peakRssMiB} MiB (drain)` },
    },
    PANEL.width,
  );
  const legend = ORDER.map((m, k) => `<rect x="${20 + k * 185}" y="${PANEL.height + 4}" width="12" height="12" fill="${COLORS[m]}"/>${text(36 + k * 185, PANEL.height + 14, LABELS[m])}`).join('\n');
  const width = PANEL.width * 2;
  const height = PANEL.height + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
${throughput}
${memory}
${legend}
</svg>
`;
}
