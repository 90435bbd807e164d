/**
 * The parts of README.md written from the code: each between the lines
 * `<!-- NAME:start -->` and `<!-- NAME:end -->`, from its renderer. A new part
 * is one more entry here and its two markers in README.md.
 */
import { renderSettingsTable } from '../shared/config/renderSettingsTable.js';
import { renderRemediesTable } from '../shared/errors/remediesTable.js';

export interface ReadmeSection {
  /** The markers' name: `<!-- settings:start -->`. */
  name: string;
  /** Where the text comes from, for whoever would edit it in README.md. */
  source: string;
  render: () => string;
}

export const README_SECTIONS: readonly ReadmeSection[] = [
  { name: 'settings', source: 'shared/config/settingsSchema.ts', render: renderSettingsTable },
  { name: 'remedies', source: 'shared/errors/remedies/', render: renderRemediesTable },
];

/** `readme` with every section's text between its markers replaced by what its renderer writes now. */
export function withGeneratedSections(readme: string, sections: readonly ReadmeSection[] = README_SECTIONS): string {
  let text = readme;
  for (const section of sections) {
    const start = `<!-- ${section.name}:start -->`;
    const end = `<!-- ${section.name}:end -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from || text.indexOf(start, from + 1) >= 0 || text.indexOf(end, to + 1) >= 0) {
      throw new Error(`README.md needs the lines ${start} and ${end}, once each and in that order, around the ${section.name} written from ${section.source}`);
    }
    // Blank lines around the text: a table must not run into the marker comments.
    text = `${text.slice(0, from + start.length)}\n\n${section.render().trim()}\n\n${text.slice(to)}`;
  }
  return text;
}
