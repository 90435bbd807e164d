/**
 * A reader for the small subset of YAML that azure.yaml uses: block mappings
 * nested by indentation, plain and quoted scalars, block sequences of scalars,
 * `#` comments. No YAML library is installed, and one is not worth a
 * dependency for one file. Anything outside the subset (flow collections,
 * block scalars, anchors, tags, multi-line scalars, tabs) throws, so a file it
 * cannot read fails the test instead of being misread.
 */

export type Yaml = string | Yaml[] | { [key: string]: Yaml };

interface Line {
  indent: number;
  text: string;
  number: number;
}

export function parseYaml(source: string): Yaml {
  const lines: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    if (/^\s*(#.*)?$/.test(raw)) return;
    if (raw.includes('\t')) throw new Error(`line ${i + 1}: a tab`);
    const indent = raw.length - raw.trimStart().length;
    lines.push({ indent, text: stripComment(raw.trim(), i + 1), number: i + 1 });
  });
  let at = 0;

  function block(indent: number): Yaml {
    const first = lines[at];
    if (!first || first.indent !== indent) throw new Error(`line ${first?.number ?? '?'}: unexpected indentation`);
    if (first.text.startsWith('- ') || first.text === '-') {
      const items: Yaml[] = [];
      while (lines[at]?.indent === indent && lines[at]!.text.startsWith('-')) {
        const item = lines[at]!;
        at++;
        items.push(scalar(item.text.slice(1).trim(), item.number));
      }
      return items;
    }
    const map: { [key: string]: Yaml } = {};
    while (lines[at] && lines[at]!.indent === indent) {
      const line = lines[at]!;
      const match = /^([A-Za-z0-9_.$-]+|'[^']*'|"[^"]*"):(?:\s+(.*))?$/.exec(line.text);
      if (!match) throw new Error(`line ${line.number}: not a "key: value" line: ${line.text}`);
      const key = match[1]!.replace(/^['"]|['"]$/g, '');
      if (key in map) throw new Error(`line ${line.number}: ${key} is set twice`);
      at++;
      if (match[2] !== undefined && match[2] !== '') map[key] = scalar(match[2], line.number);
      else if (lines[at] && lines[at]!.indent > indent) map[key] = block(lines[at]!.indent);
      else map[key] = '';
    }
    if (lines[at] && lines[at]!.indent > indent) throw new Error(`line ${lines[at]!.number}: unexpected indentation`);
    return map;
  }

  const value = block(lines[0]?.indent ?? 0);
  if (at !== lines.length) throw new Error(`line ${lines[at]!.number}: unexpected indentation`);
  return value;
}

/** Drops a trailing ` # comment` outside quotes. */
function stripComment(text: string, number: number): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s:]/.test(text[i - 1]!))) {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      return text.slice(0, i).trimEnd();
    }
  }
  if (quote) throw new Error(`line ${number}: unterminated quote`);
  return text;
}

function scalar(text: string, number: number): string {
  if (/^['"]/.test(text)) {
    const quote = text[0]!;
    if (!text.endsWith(quote) || text.length < 2) throw new Error(`line ${number}: a quoted scalar must end on its line`);
    const inner = text.slice(1, -1);
    return quote === "'" ? inner.replace(/''/g, "'") : JSON.parse(text);
  }
  if (/^[[{|>&*!%@`]/.test(text)) throw new Error(`line ${number}: ${text[0]} is outside the YAML subset read here`);
  if (/:\s/.test(text)) throw new Error(`line ${number}: ": " inside a plain scalar; quote it`);
  return text;
}
