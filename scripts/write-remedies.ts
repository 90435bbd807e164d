/**
 * Writes the README's troubleshooting table from the remedy table
 * (shared/errors/remedies.ts), between its remedies markers.
 *
 *   npm run docs:remedies
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { README_MARKERS, renderRemediesTable } from '../shared/errors/remediesTable.js';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const start = readme.indexOf(README_MARKERS.start);
const end = readme.indexOf(README_MARKERS.end);
if (start < 0 || end < start) {
  console.error(`README.md has no ${README_MARKERS.start} ... ${README_MARKERS.end} section.`);
  process.exit(1);
}
const updated = `${readme.slice(0, start + README_MARKERS.start.length)}\n${renderRemediesTable()}${readme.slice(end)}`;
if (updated !== readme) writeFileSync(path, updated);
console.log(updated === readme ? 'README.md troubleshooting table is up to date.' : 'README.md troubleshooting table rewritten.');
