/**
 * The README's settings table, from the declaration (declaredSettings): one row
 * per setting, with its meaning and what leaving it unset means. Written into
 * README.md by scripts/write-readme.ts (npm run docs).
 */
import { declaredSettings, type DeclaredSetting } from './declaredSettings.js';

export function renderSettingsTable(): string {
  const rows = declaredSettings.map((s) => row(`\`${s.name}\``, s.meaning, unsetColumn(s)));
  return [row('setting', 'meaning', 'default'), '|---|---|---|', ...rows].join('\n');
}

/** "`52428800` (50 MB)", "required", "system-assigned identity; required for `federated`". */
function unsetColumn(s: DeclaredSetting): string {
  const unset =
    s.default !== undefined ? `\`${s.default}\`${s.whenUnset ? ` (${s.whenUnset})` : ''}` : s.required === true ? 'required' : s.whenUnset;
  return [unset, typeof s.required === 'string' ? s.required : undefined].filter(Boolean).join('; ');
}

// A pipe would end the cell, a line break the row.
const row = (...cells: string[]) => `|${cells.map((c) => (c ? ` ${c.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ')} ` : ' ')).join('|')}|`;
