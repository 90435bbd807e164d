/** Writes the generated sections of README.md (scripts/readmeSections.ts): npm run docs. */
import { readFileSync, writeFileSync } from 'node:fs';
import { README_SECTIONS, withGeneratedSections } from './readmeSections.js';

const file = new URL('../README.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = withGeneratedSections(before);
if (after === before) {
  console.log(`${file.pathname} is up to date`);
} else {
  writeFileSync(file, after);
  console.log(`Wrote ${README_SECTIONS.map((s) => s.name).join(', ')} in ${file.pathname}`);
}
