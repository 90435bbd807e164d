import type { DrainErrorCode } from './errors.js';
import { REMEDIES } from './remedies.js';

/** Where the README's troubleshooting table starts and ends (npm run docs, scripts/readmeSections.ts, replaces what is between). */
export const README_MARKERS = { start: '<!-- remedies:start -->', end: '<!-- remedies:end -->' } as const;

/** The README's troubleshooting table: one row per error code, from the remedy table. */
export function renderRemediesTable(): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = (Object.keys(REMEDIES) as DrainErrorCode[]).map((code) => {
    const { said, summary, passes } = REMEDIES[code];
    return `| \`${code}\` | ${cell(said)} | ${passes ? 'yes' : 'no'} | ${cell(summary)} |`;
  });
  return ['| code | what Exchange / Entra / Azure said | passes by itself | what to do |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}
