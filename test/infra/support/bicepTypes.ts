/**
 * The Azure (and Microsoft Graph) resource type graph the Bicep compiler uses,
 * read from test/fixtures/bicep-types (copies of Azure/bicep-types-az and
 * microsoftgraph/msgraph-bicep-types), and a checker that walks a resource body
 * of a parsed template (./bicep.ts) against it.
 *
 * What it checks, for every literal it can see: each property exists in its
 * type (recursively through object and array literals, loops and both branches
 * of a conditional), no read-only property is set, every required one is, and
 * strings, integers and booleans fit the type (literal unions, lengths,
 * patterns, ranges). It also checks property reads on resource symbols
 * (`account.properties.primaryEndpoints.blob`). Computed values are not
 * evaluated: their type is left to the real deployment.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from 'web-tree-sitter';
import { line, type BicepFile, type Property, type ResourceDecl, type Value } from './bicep.js';

const FLAG = { required: 1, readOnly: 2, writeOnly: 4, deployTimeConstant: 8, identifier: 16 } as const;

interface Ref {
  $ref: string;
}

interface PropertyDef {
  type: Ref;
  flags: number;
  description?: string;
}

type TypeNode =
  | { $type: 'StringType'; minLength?: number; maxLength?: number; pattern?: string; sensitive?: boolean }
  | { $type: 'StringLiteralType'; value: string }
  | { $type: 'IntegerType'; minValue?: number; maxValue?: number }
  | { $type: 'BooleanType' }
  | { $type: 'AnyType' }
  | { $type: 'NullType' }
  | { $type: 'ArrayType'; itemType: Ref; minLength?: number; maxLength?: number }
  | { $type: 'UnionType'; elements: Ref[] }
  | { $type: 'ObjectType'; name: string; properties: Record<string, PropertyDef>; additionalProperties?: Ref }
  | {
      $type: 'DiscriminatedObjectType';
      name: string;
      discriminator: string;
      baseProperties: Record<string, PropertyDef>;
      elements: Record<string, Ref>;
    }
  | { $type: 'ResourceType'; name: string; body: Ref }
  | { $type: 'ResourceFunctionType' };

/** A type in one of the types.json files. */
export interface TypeHandle {
  file: string;
  index: number;
}

export interface TypeProblem {
  line: number;
  path: string;
  message: string;
}

/** Keys Bicep itself adds to every resource body. */
const BICEP_RESOURCE_KEYS = new Set(['parent', 'scope', 'dependsOn']);
/** Properties every resource symbol has, whatever its type says. */
const SYMBOL_PROPERTIES = new Set(['id', 'name', 'type', 'apiVersion']);

export class BicepTypes {
  private readonly index: Record<string, string>;
  private readonly files = new Map<string, TypeNode[]>();

  constructor(private readonly dir: string) {
    this.index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Record<string, string>;
  }

  /** The body type of `Type@apiVersion`, or undefined when the index lacks it. */
  resourceBody(type: string, apiVersion: string): TypeHandle | undefined {
    const entry = this.index[`${type}@${apiVersion}`];
    if (!entry) return undefined;
    const [file, pointer] = entry.split('#/') as [string, string];
    const resource = this.node({ file, index: Number(pointer) });
    if (resource.$type !== 'ResourceType') throw new Error(`${entry} is a ${resource.$type}, not a ResourceType`);
    return this.follow({ file, index: Number(pointer) }, resource.body);
  }

  /** API versions the index has for a type. */
  apiVersions(type: string): string[] {
    const prefix = `${type.toLowerCase()}@`;
    return Object.keys(this.index)
      .filter((k) => k.toLowerCase().startsWith(prefix))
      .map((k) => k.slice(prefix.length));
  }

  /** Checks a resource declaration's body against its type. */
  checkResource(resource: ResourceDecl): TypeProblem[] {
    const problems: TypeProblem[] = [];
    const at = `${resource.name} (${resource.type}@${resource.apiVersion})`;
    const body = this.resourceBody(resource.type, resource.apiVersion);
    if (!body) {
      const known = this.apiVersions(resource.type);
      problems.push({
        line: resource.line,
        path: at,
        message: known.length
          ? `API version ${resource.apiVersion} is not in the type index; it has ${known.join(', ')}`
          : `resource type ${resource.type} is not in the type index`,
      });
      return problems;
    }
    if (resource.body.kind !== 'object') {
      problems.push({ line: resource.line, path: at, message: 'the resource body is not an object literal' });
      return problems;
    }
    const properties = resource.body.properties.filter((p) => !(p.key && BICEP_RESOURCE_KEYS.has(p.key)));
    const object = { ...resource.body, properties };
    if (resource.existing) this.checkExisting(object, body, at, problems);
    else this.checkObject(object, this.node(body), body, at, problems);
    return problems;
  }

  /**
   * Checks property reads on resource symbols, such as `vault.properties.vaultUri`,
   * against the symbol's type (read-only properties included).
   */
  checkPropertyReads(file: BicepFile): TypeProblem[] {
    const problems: TypeProblem[] = [];
    const symbols = new Map(file.resources.map((r) => [r.name, r]));
    for (const node of file.root.descendantsOfType('member_expression')) {
      if (node.parent?.type === 'member_expression' && node.parent.childForFieldName('object')?.equals(node)) continue;
      const chain = memberChain(node);
      if (!chain) continue;
      const resource = symbols.get(chain.root);
      if (!resource) continue;
      const body = this.resourceBody(resource.type, resource.apiVersion);
      if (!body || SYMBOL_PROPERTIES.has(chain.path[0]!)) continue;
      let handle: TypeHandle | undefined = body;
      const walked: string[] = [];
      for (const segment of chain.path) {
        if (!handle) break;
        walked.push(segment);
        const found = this.propertyType(handle, segment);
        if (found === 'unknown') {
          problems.push({
            line: line(node),
            path: `${chain.root}.${walked.join('.')}`,
            message: `${resource.type}@${resource.apiVersion} has no property "${segment}" here${this.suggestion(handle, segment)}`,
          });
          break;
        }
        handle = found;
      }
    }
    return problems;
  }

  private node(handle: TypeHandle): TypeNode {
    let types = this.files.get(handle.file);
    if (!types) {
      types = JSON.parse(readFileSync(join(this.dir, handle.file), 'utf8')) as TypeNode[];
      this.files.set(handle.file, types);
    }
    const node = types[handle.index];
    if (!node) throw new Error(`${handle.file}#/${handle.index} does not exist`);
    return node;
  }

  private follow(from: TypeHandle, ref: Ref): TypeHandle {
    const [file, pointer] = ref.$ref.split('#/') as [string, string];
    return { file: file || from.file, index: Number(pointer) };
  }

  /** The properties an object type offers, with a discriminated type's elements merged when `value` does not pick one. */
  private propertiesOf(
    handle: TypeHandle,
    object: Extract<Value, { kind: 'object' }> | undefined,
    path: string,
    problems: TypeProblem[],
  ): { properties: Record<string, PropertyDef>; additional?: TypeHandle; owner: TypeHandle } | undefined {
    const type = this.node(handle);
    if (type.$type === 'ObjectType') {
      return {
        properties: type.properties,
        additional: type.additionalProperties && this.follow(handle, type.additionalProperties),
        owner: handle,
      };
    }
    if (type.$type !== 'DiscriminatedObjectType') return undefined;
    const chosen = object?.properties.find((p) => p.key === type.discriminator)?.value;
    if (chosen?.kind === 'string') {
      const element = type.elements[chosen.value];
      if (!element) {
        problems.push({
          line: line(chosen.node),
          path: `${path}.${type.discriminator}`,
          message: `"${chosen.value}" is not one of ${Object.keys(type.elements).map((k) => `'${k}'`).join(', ')}`,
        });
        return undefined;
      }
      const elementHandle = this.follow(handle, element);
      const inner = this.propertiesOf(elementHandle, object, path, problems);
      return inner && { ...inner, properties: { ...type.baseProperties, ...inner.properties } };
    }
    // The discriminator is computed: accept what any element accepts.
    const merged: Record<string, PropertyDef> = { ...type.baseProperties };
    for (const element of Object.values(type.elements)) {
      const inner = this.propertiesOf(this.follow(handle, element), undefined, path, problems);
      for (const [k, v] of Object.entries(inner?.properties ?? {})) merged[k] = { ...v, flags: v.flags & ~FLAG.required };
    }
    return { properties: merged, owner: handle };
  }

  private propertyType(handle: TypeHandle, name: string): TypeHandle | undefined | 'unknown' {
    const type = this.node(handle);
    if (type.$type === 'AnyType') return undefined;
    if (type.$type === 'UnionType') {
      for (const element of type.elements) {
        const found = this.propertyType(this.follow(handle, element), name);
        if (found !== 'unknown') return found;
      }
      return 'unknown';
    }
    if (type.$type === 'ArrayType') return undefined;
    const props = this.propertiesOf(handle, undefined, '', []);
    if (!props) return undefined;
    const def = props.properties[name];
    if (def) return this.follow(props.owner, def.type);
    return props.additional ?? 'unknown';
  }

  private suggestion(handle: TypeHandle, name: string): string {
    const props = this.propertiesOf(handle, undefined, '', []);
    const match = Object.keys(props?.properties ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
    return match ? ` (did you mean "${match}"?)` : '';
  }

  private checkExisting(object: Extract<Value, { kind: 'object' }>, body: TypeHandle, at: string, problems: TypeProblem[]) {
    const props = this.propertiesOf(body, object, at, problems);
    for (const property of object.properties) {
      const def = property.key === undefined ? undefined : props?.properties[property.key];
      if (property.key === 'name' || (def && def.flags & FLAG.identifier)) continue;
      problems.push({
        line: line(property.node),
        path: `${at}.${property.key ?? '<computed>'}`,
        message: 'an existing resource takes only its name (or identifier), parent and scope',
      });
    }
  }

  private checkObject(
    object: Extract<Value, { kind: 'object' }>,
    type: TypeNode,
    handle: TypeHandle,
    path: string,
    problems: TypeProblem[],
  ) {
    const props = this.propertiesOf(handle, object, path, problems);
    if (!props) {
      if (type.$type !== 'DiscriminatedObjectType') {
        problems.push({ line: line(object.node), path, message: `an object is set where ${describe(type)} is expected` });
      }
      return;
    }
    for (const property of object.properties) this.checkProperty(property, props, path, problems);
    const present = new Set(object.properties.map((p) => p.key));
    for (const [name, def] of Object.entries(props.properties)) {
      if (def.flags & FLAG.required && !(def.flags & FLAG.readOnly) && !present.has(name)) {
        problems.push({ line: line(object.node), path: `${path}.${name}`, message: 'required property is not set' });
      }
    }
  }

  private checkProperty(
    property: Property,
    props: { properties: Record<string, PropertyDef>; additional?: TypeHandle; owner: TypeHandle },
    path: string,
    problems: TypeProblem[],
  ) {
    const at = `${path}.${property.key ?? '<computed>'}`;
    if (property.key === undefined) {
      if (props.additional) this.checkValue(property.value, props.additional, at, problems);
      else problems.push({ line: line(property.node), path: at, message: 'a computed key where the type has fixed properties' });
      return;
    }
    const def = props.properties[property.key];
    if (!def) {
      if (props.additional) return this.checkValue(property.value, props.additional, at, problems);
      const match = Object.keys(props.properties).find((k) => k.toLowerCase() === property.key!.toLowerCase());
      problems.push({
        line: line(property.node),
        path: at,
        message: `no such property${match ? ` (did you mean "${match}"?)` : ''}`,
      });
      return;
    }
    if (def.flags & FLAG.readOnly && !(def.flags & FLAG.required)) {
      problems.push({ line: line(property.node), path: at, message: 'property is read-only' });
      return;
    }
    this.checkValue(property.value, this.follow(props.owner, def.type), at, problems);
  }

  /** Checks one value against a type; returns quietly for computed values. */
  checkValue(value: Value, handle: TypeHandle, path: string, problems: TypeProblem[]): void {
    const type = this.node(handle);
    if (type.$type === 'AnyType') return;
    if (value.kind === 'conditional') {
      this.checkValue(value.whenTrue, handle, path, problems);
      this.checkValue(value.whenFalse, handle, path, problems);
      return;
    }
    if (value.kind === 'expression' || value.kind === 'null') return;

    if (type.$type === 'UnionType') {
      // The value fits the union when it fits one member; report the closest miss otherwise.
      let best: TypeProblem[] | undefined;
      for (const element of type.elements) {
        const attempt: TypeProblem[] = [];
        this.checkValue(value, this.follow(handle, element), path, attempt);
        if (attempt.length === 0) return;
        if (!best || attempt.length < best.length) best = attempt;
      }
      const literals = this.literalChoices(handle);
      if (literals && (value.kind === 'string' || value.kind === 'interpolated')) {
        if (value.kind === 'interpolated') return;
        problems.push({ line: line(value.node), path, message: `"${value.value}" is not one of ${literals}` });
        return;
      }
      problems.push(...(best ?? []));
      return;
    }

    const mismatch = (): void => {
      problems.push({ line: line(value.node), path, message: `${describeValue(value)} where ${describe(type)} is expected` });
    };

    switch (value.kind) {
      case 'string':
      case 'interpolated':
        if (type.$type === 'StringLiteralType') {
          if (value.kind === 'string' && value.value !== type.value) {
            problems.push({ line: line(value.node), path, message: `"${value.value}" is not '${type.value}'` });
          }
          return;
        }
        if (type.$type !== 'StringType') return mismatch();
        if (value.kind === 'string') this.checkString(value.value, type, value.node, path, problems);
        return;
      case 'number':
        if (type.$type !== 'IntegerType') return mismatch();
        if ((type.minValue !== undefined && value.value < type.minValue) || (type.maxValue !== undefined && value.value > type.maxValue)) {
          problems.push({ line: line(value.node), path, message: `${value.value} is outside ${type.minValue ?? '-∞'}..${type.maxValue ?? '∞'}` });
        }
        return;
      case 'boolean':
        if (type.$type !== 'BooleanType') mismatch();
        return;
      case 'array':
        if (type.$type !== 'ArrayType') return mismatch();
        value.items.forEach((item, i) => this.checkValue(item, this.follow(handle, type.itemType), `${path}[${i}]`, problems));
        return;
      case 'loop':
        if (type.$type !== 'ArrayType') return mismatch();
        this.checkValue(value.body, this.follow(handle, type.itemType), `${path}[for]`, problems);
        return;
      case 'object':
        if (type.$type !== 'ObjectType' && type.$type !== 'DiscriminatedObjectType') return mismatch();
        this.checkObject(value, type, handle, path, problems);
        return;
    }
  }

  private checkString(
    text: string,
    type: Extract<TypeNode, { $type: 'StringType' }>,
    node: Node,
    path: string,
    problems: TypeProblem[],
  ) {
    if (type.minLength !== undefined && text.length < type.minLength) {
      problems.push({ line: line(node), path, message: `"${text}" is shorter than ${type.minLength}` });
    }
    if (type.maxLength !== undefined && text.length > type.maxLength) {
      problems.push({ line: line(node), path, message: `"${text}" is longer than ${type.maxLength}` });
    }
    if (type.pattern) {
      let pattern: RegExp | undefined;
      try {
        pattern = new RegExp(type.pattern);
      } catch {
        // A .NET-only construct; the deployment validates it.
      }
      if (pattern && !pattern.test(text)) {
        problems.push({ line: line(node), path, message: `"${text}" does not match ${type.pattern}` });
      }
    }
  }

  /** "'a', 'b'" when a union is string literals (optionally plus string), else undefined. */
  private literalChoices(handle: TypeHandle): string | undefined {
    const type = this.node(handle);
    if (type.$type !== 'UnionType') return undefined;
    const members = type.elements.map((e) => this.node(this.follow(handle, e)));
    if (!members.every((m) => m.$type === 'StringLiteralType')) return undefined;
    return members.map((m) => `'${(m as { value: string }).value}'`).join(', ');
  }
}

/** `a.b.c` (also `a!.b` and `a.?b`) as a root identifier and its property names. */
function memberChain(node: Node): { root: string; path: string[] } | undefined {
  const path: string[] = [];
  let current: Node | null = node;
  while (current?.type === 'member_expression') {
    path.unshift(current.childForFieldName('property')!.text);
    current = current.childForFieldName('object');
  }
  if (current?.type !== 'identifier') return undefined;
  return { root: current.text, path };
}

function describe(type: TypeNode): string {
  switch (type.$type) {
    case 'StringLiteralType':
      return `'${type.value}'`;
    case 'ObjectType':
      return `an object (${type.name})`;
    case 'DiscriminatedObjectType':
      return `an object (${type.name})`;
    case 'ArrayType':
      return 'an array';
    case 'StringType':
      return 'a string';
    case 'IntegerType':
      return 'an integer';
    case 'BooleanType':
      return 'a boolean';
    default:
      return type.$type;
  }
}

function describeValue(value: Value): string {
  switch (value.kind) {
    case 'string':
      return `the string "${value.value}"`;
    case 'interpolated':
      return 'a string';
    case 'number':
      return `the integer ${value.value}`;
    case 'boolean':
      return `${value.value}`;
    case 'array':
    case 'loop':
      return 'an array';
    case 'object':
      return 'an object';
    default:
      return value.kind;
  }
}
