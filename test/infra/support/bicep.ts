/**
 * A small typed reading of Bicep files, over the syntax tree of the
 * tree-sitter-bicep grammar: the declarations with their decorators, and their
 * values as far as they are literals (anything computed stays an `expression`).
 *
 * The Bicep compiler cannot run here; this is what the checks in test/infra/
 * read instead. It is a reader, not a compiler: it does not evaluate
 * expressions, and it knows only the statements the templates use.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Language, Parser, type Node } from 'web-tree-sitter';

export type Value =
  | { kind: 'string'; value: string; node: Node }
  | { kind: 'interpolated'; node: Node }
  | { kind: 'number'; value: number; node: Node }
  | { kind: 'boolean'; value: boolean; node: Node }
  | { kind: 'null'; node: Node }
  | { kind: 'object'; properties: Property[]; node: Node }
  | { kind: 'array'; items: Value[]; node: Node }
  | { kind: 'loop'; body: Value; node: Node }
  | { kind: 'conditional'; whenTrue: Value; whenFalse: Value; node: Node }
  | { kind: 'expression'; node: Node };

export interface Property {
  /** Undefined for a computed key such as `'${id}'`. */
  key: string | undefined;
  value: Value;
  node: Node;
}

export interface Decorator {
  name: string;
  args: Value[];
  node: Node;
}

interface Declared {
  name: string;
  decorators: Decorator[];
  node: Node;
  line: number;
}

export interface ParamDecl extends Declared {
  type: string;
  defaultValue?: Value;
}

export interface VarDecl extends Declared {
  value: Value;
}

export interface OutputDecl extends Declared {
  type: string;
  value: Value;
}

/** What `[for <item> in <source>: ...]` or `[for (<item>, <index>) in <source>: ...]` iterates. */
export interface LoopHeader {
  item: string;
  index?: string;
  source: Node;
}

export interface ResourceDecl extends Declared {
  /** e.g. `Microsoft.Storage/storageAccounts`. */
  type: string;
  apiVersion: string;
  existing: boolean;
  condition?: Node;
  loop: boolean;
  loopOver?: LoopHeader;
  body: Value;
}

export interface ModuleDecl extends Declared {
  path: string;
  condition?: Node;
  loop: boolean;
  loopOver?: LoopHeader;
  body: Value;
}

export interface SyntaxProblem {
  line: number;
  column: number;
  message: string;
}

export interface BicepFile {
  path: string;
  source: string;
  root: Node;
  syntaxErrors: SyntaxProblem[];
  /** Names from `extension <name>` statements. */
  extensions: string[];
  params: ParamDecl[];
  vars: VarDecl[];
  outputs: OutputDecl[];
  resources: ResourceDecl[];
  modules: ModuleDecl[];
  /** Resources declared inside another resource's body, which this reader does not follow. */
  nestedResources: Node[];
}

const require = createRequire(import.meta.url);
let parserPromise: Promise<Parser> | undefined;

/** The tree-sitter parser with the Bicep grammar (its WebAssembly build), loaded once. */
export function bicepParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    await Parser.init();
    const language = await Language.load(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm'));
    return new Parser().setLanguage(language);
  })();
  return parserPromise;
}

/**
 * tree-sitter-bicep 1.1 predates Bicep's `extension` statement (Bicep 0.30, which
 * replaced `provider` and `import`). Its one form used here, `extension <name>`
 * on a line of its own, is recorded and blanked to spaces of the same length, so
 * positions stay right and everything else is still parsed by the grammar.
 */
const EXTENSION_STATEMENT = /^([ \t]*)extension[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?=\r?$)/gm;

export async function parseBicep(source: string, path = '<inline>'): Promise<BicepFile> {
  const extensions: string[] = [];
  const parsable = source.replace(EXTENSION_STATEMENT, (statement, _indent: string, name: string) => {
    extensions.push(name);
    return ' '.repeat(statement.length);
  });
  const tree = (await bicepParser()).parse(parsable);
  if (!tree) throw new Error(`tree-sitter returned no tree for ${path}`);
  const root = tree.rootNode;

  const file: BicepFile = {
    path,
    source,
    root,
    syntaxErrors: syntaxErrors(root),
    extensions,
    params: [],
    vars: [],
    outputs: [],
    resources: [],
    modules: [],
    nestedResources: root.descendantsOfType('resource_declaration').filter((n) => n.parent?.type === 'object_property'),
  };

  let decorators: Decorator[] = [];
  for (const node of root.namedChildren) {
    if (node.type === 'decorators') {
      decorators.push(...node.namedChildren.filter((d) => d.type === 'decorator').map(toDecorator));
      continue;
    }
    if (node.type === 'comment' || node.type === 'diagnostic_comment') continue;
    const named = realChildren(node);
    const base = { name: named[0]?.text ?? '', decorators, node, line: node.startPosition.row + 1 };
    switch (node.type) {
      case 'parameter_declaration':
        file.params.push({ ...base, type: named[1]?.text ?? '', defaultValue: named[2] && toValue(named[2]) });
        break;
      case 'variable_declaration':
        file.vars.push({ ...base, value: toValue(named[1]!) });
        break;
      case 'output_declaration':
        file.outputs.push({ ...base, type: named[1]?.text ?? '', value: toValue(named[2]!) });
        break;
      case 'resource_declaration': {
        const [type = '', apiVersion = ''] = stringLiteral(named[1]!)?.split('@') ?? [];
        file.resources.push({
          ...base,
          type,
          apiVersion,
          existing: node.children.some((c) => c.type === 'existing'),
          ...declarationBody(named[2]!),
        });
        break;
      }
      case 'module_declaration':
        file.modules.push({ ...base, path: stringLiteral(named[1]!) ?? '', ...declarationBody(named[2]!) });
        break;
    }
    decorators = [];
  }
  return file;
}

export async function readBicep(path: string): Promise<BicepFile> {
  return parseBicep(readFileSync(path, 'utf8'), path);
}

function syntaxErrors(root: Node): SyntaxProblem[] {
  const problems: SyntaxProblem[] = [];
  const visit = (node: Node) => {
    if (node.isError || node.isMissing) {
      problems.push({
        line: node.startPosition.row + 1,
        column: node.startPosition.column + 1,
        message: node.isMissing ? `missing ${node.type}` : `cannot parse "${node.text.slice(0, 60)}"`,
      });
      return;
    }
    if (node.hasError) for (const child of node.children) visit(child);
  };
  visit(root);
  return problems;
}

function declarationBody(node: Node): { body: Value; condition?: Node; loop: boolean; loopOver?: LoopHeader } {
  if (node.type === 'if_statement') {
    const [condition, body] = realChildren(node);
    return { condition, body: toValue(body!), loop: false };
  }
  if (node.type === 'for_statement') {
    const body = node.childForFieldName('body')!;
    const loopOver = loopHeader(node);
    if (body.type === 'if_statement') {
      const [condition, inner] = realChildren(body);
      return { condition, body: toValue(inner!), loop: true, loopOver };
    }
    return { body: toValue(body), loop: true, loopOver };
  }
  return { body: toValue(node), loop: false };
}

/** The loop variables and the iterated expression of a for_statement: its first two named children. */
export function loopHeader(node: Node): LoopHeader {
  const [variables, source] = realChildren(node);
  if (variables!.type === 'for_loop_parameters') {
    const [item, index] = variables!.namedChildren;
    return { item: item!.text, index: index?.text, source: source! };
  }
  return { item: variables!.text, source: source! };
}

function toDecorator(node: Node): Decorator {
  const call = node.namedChildren[0]!;
  const fn = call.childForFieldName('function')!;
  const name = fn.type === 'member_expression' ? fn.childForFieldName('property')!.text : fn.text;
  const args = realChildren(call.childForFieldName('arguments')!).map(toValue);
  return { name, args, node };
}

/** Named children without comments and decorators. */
function realChildren(node: Node): Node[] {
  return node.namedChildren.filter(
    (c) => c.type !== 'comment' && c.type !== 'diagnostic_comment' && c.type !== 'decorators',
  );
}

/** The value of a string without interpolation, or undefined. */
export function stringLiteral(node: Node): string | undefined {
  if (node.type !== 'string') return undefined;
  if (node.text.startsWith("'''")) {
    // Multi-line strings have no escapes; a line break right after the opening quotes is dropped.
    return node.text.slice(3, -3).replace(/^\r?\n/, '');
  }
  let value = '';
  for (const part of node.namedChildren) {
    if (part.type === 'interpolation') return undefined;
    value += part.type === 'escape_sequence' ? unescape(part.text) : part.text;
  }
  return value;
}

function unescape(sequence: string): string {
  const c = sequence.slice(1);
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", $: '$' };
  if (c in simple) return simple[c]!;
  const unicode = /^u\{([0-9a-fA-F]+)\}$/.exec(c);
  if (unicode) return String.fromCodePoint(parseInt(unicode[1]!, 16));
  return sequence;
}

export function toValue(node: Node): Value {
  switch (node.type) {
    case 'string': {
      const value = stringLiteral(node);
      return value === undefined ? { kind: 'interpolated', node } : { kind: 'string', value, node };
    }
    case 'number':
      return { kind: 'number', value: Number(node.text), node };
    case 'boolean':
      return { kind: 'boolean', value: node.text === 'true', node };
    case 'null':
      return { kind: 'null', node };
    case 'object':
      return {
        kind: 'object',
        node,
        properties: node.namedChildren
          .filter((c) => c.type === 'object_property' && c.namedChildren[0]?.type !== 'resource_declaration')
          .map((property) => {
            const [keyNode, valueNode] = realChildren(property);
            return { key: propertyKey(keyNode!), value: toValue(valueNode!), node: property };
          }),
      };
    case 'array':
      return { kind: 'array', node, items: realChildren(node).map(toValue) };
    case 'for_statement': {
      const body = node.childForFieldName('body')!;
      return { kind: 'loop', node, body: toValue(body.type === 'if_statement' ? realChildren(body)[1]! : body) };
    }
    case 'ternary_expression':
      return {
        kind: 'conditional',
        node,
        whenTrue: toValue(node.childForFieldName('consequence')!),
        whenFalse: toValue(node.childForFieldName('alternative')!),
      };
    case 'parenthesized_expression': {
      const inner = realChildren(node);
      return inner.length === 1 ? toValue(inner[0]!) : { kind: 'expression', node };
    }
    default:
      return { kind: 'expression', node };
  }
}

function propertyKey(node: Node): string | undefined {
  if (node.type === 'string') return stringLiteral(node);
  if (node.type === 'compatible_identifier') return node.namedChildren[0]?.text;
  return node.text;
}

/** The property at a dotted path of an object literal, or undefined. */
export function propertyAt(value: Value | undefined, path: string): Value | undefined {
  let current = value;
  for (const key of path.split('.')) {
    if (current?.kind !== 'object') return undefined;
    current = current.properties.find((p) => p.key === key)?.value;
  }
  return current;
}

/** The literal (string, number or boolean) at a dotted path, or undefined. */
export function literalAt(value: Value | undefined, path: string): string | number | boolean | undefined {
  const found = propertyAt(value, path);
  return found && 'value' in found ? (found.value as string | number | boolean) : undefined;
}

/** The text of the decorator's first argument when it is a string literal. */
export function decoratorText(decl: { decorators: Decorator[] }, name: string): string | undefined {
  const arg = decl.decorators.find((d) => d.name === name)?.args[0];
  return arg?.kind === 'string' ? arg.value : undefined;
}

/** The literal values of an `@allowed([...])` decorator, or undefined. */
export function allowedValues(decl: { decorators: Decorator[] }): (string | number | boolean)[] | undefined {
  const arg = decl.decorators.find((d) => d.name === 'allowed')?.args[0];
  if (arg?.kind !== 'array') return undefined;
  return arg.items.flatMap((item) => ('value' in item ? [item.value as string | number | boolean] : []));
}

/**
 * Identifiers that an expression reads: not object keys, not property names
 * after a dot (tree-sitter-bicep names those `property_identifier`).
 */
export function identifiersRead(node: Node): string[] {
  const declaring = new Set([
    'object_property',
    'parameter_declaration',
    'variable_declaration',
    'output_declaration',
    'resource_declaration',
    'module_declaration',
    'metadata_declaration',
  ]);
  return node
    .descendantsOfType('identifier')
    .filter((id) => !(id.parent && declaring.has(id.parent.type) && id.parent.namedChildren[0]?.equals(id)))
    .filter((id) => !(id.parent?.type === 'call_expression' && id.parent.childForFieldName('function')?.equals(id)))
    .map((id) => id.text);
}

export function line(node: Node): number {
  return node.startPosition.row + 1;
}
