/**
 * The checks test/infra/ runs on the templates, as functions from parsed
 * templates to problems ("file:line what is wrong"), so that they run on infra/
 * and, in checker.test.ts, on small broken templates that show each one bites.
 *
 * Templates are keyed by their path relative to infra/ (`modules/x.bicep`).
 */
import { dirname, posix } from 'node:path';
import {
  allowedValues,
  decoratorText,
  identifiersRead,
  line,
  stringLiteral,
  type BicepFile,
  type ModuleDecl,
  type Property,
  type ResourceDecl,
  type Value,
} from './bicep.js';
import type { BicepTypes } from './bicepTypes.js';
import type { RoleRow, ApplicationRow } from './infra.js';

export type Templates = ReadonlyMap<string, BicepFile>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The template a module declaration points at, keyed like Templates. */
export function moduleKey(from: string, module: ModuleDecl): string {
  return posix.normalize(posix.join(dirname(from).split('\\').join('/'), module.path));
}

export function syntaxProblems(name: string, file: BicepFile): string[] {
  return [
    ...file.syntaxErrors.map((e) => `${name}:${e.line}:${e.column} ${e.message}`),
    ...file.nestedResources.map((n) => `${name}:${line(n)} a nested resource; declare it at the top level with parent:`),
  ];
}

/** Resource bodies and property reads against the type index, and parents against child types. */
export function typeProblems(name: string, file: BicepFile, types: BicepTypes): string[] {
  const problems = [
    ...file.resources.flatMap((r) => types.checkResource(r)),
    ...types.checkPropertyReads(file),
  ].map((p) => `${name}:${p.line} ${p.path}: ${p.message}`);
  for (const resource of file.resources) {
    const parent = resource.body.kind === 'object' ? resource.body.properties.find((p) => p.key === 'parent') : undefined;
    if (!parent) continue;
    const parentResource = file.resources.find((r) => r.name === parent.value.node.text);
    const expected = resource.type.split('/').slice(0, -1).join('/');
    if (!parentResource) problems.push(`${name}:${resource.line} parent ${parent.value.node.text} is not a resource of this file`);
    else if (parentResource.type !== expected) {
      problems.push(`${name}:${resource.line} ${resource.name} (${resource.type}) needs a ${expected} parent, not ${parentResource.type}`);
    }
  }
  return problems;
}

/** Module calls pass only declared parameters, every required one, allowed literals; outputs read exist. */
export function moduleProblems(name: string, file: BicepFile, templates: Templates): string[] {
  const problems: string[] = [];
  for (const module of file.modules) {
    const target = templates.get(moduleKey(name, module));
    if (!target) {
      problems.push(`${name}:${module.line} module ${module.name}: ${module.path} is not a template under infra/`);
      continue;
    }
    const given = moduleParams(module);
    for (const property of given) {
      const param = target.params.find((p) => p.name === property.key);
      if (!param) {
        problems.push(`${name}:${line(property.node)} module ${module.name}: ${module.path} has no parameter ${property.key}`);
        continue;
      }
      const allowed = allowedValues(param);
      if (allowed && 'value' in property.value && !allowed.includes(property.value.value as string)) {
        problems.push(`${name}:${line(property.node)} module ${module.name}: ${property.key} is not one of ${allowed.join(', ')}`);
      }
    }
    for (const param of target.params) {
      if (!param.defaultValue && !param.type.endsWith('?') && !given.some((p) => p.key === param.name)) {
        problems.push(`${name}:${module.line} module ${module.name}: required parameter ${param.name} is not passed`);
      }
    }
  }
  for (const node of file.root.descendantsOfType('member_expression')) {
    const match = /^(\w+)!?\.outputs\.(\w+)$/.exec(node.text);
    const module = match ? file.modules.find((m) => m.name === match[1]) : undefined;
    const target = module && templates.get(moduleKey(name, module));
    if (match && target && !target.outputs.some((o) => o.name === match[2])) {
      problems.push(`${name}:${line(node)} ${module!.path} has no output ${match[2]}`);
    }
  }
  return problems;
}

export function moduleParams(module: ModuleDecl): Property[] {
  const params = module.body.kind === 'object' ? module.body.properties.find((p) => p.key === 'params')?.value : undefined;
  return params?.kind === 'object' ? params.properties : [];
}

export function unusedDeclarations(name: string, file: BicepFile): string[] {
  const read = new Set(identifiersRead(file.root));
  return [...file.params, ...file.vars].filter((d) => !read.has(d.name)).map((d) => `${name}:${d.line} ${d.name} is never used`);
}

/** AVM: `@description('Required. ...')` without a default, `'Optional. ...'` with one; outputs described. */
export function descriptionProblems(name: string, file: BicepFile): string[] {
  const problems: string[] = [];
  for (const param of file.params) {
    const description = decoratorText(param, 'description');
    const expected = param.defaultValue || param.type.endsWith('?') ? 'Optional.' : 'Required.';
    if (!description) problems.push(`${name}:${param.line} parameter ${param.name} has no @description`);
    else if (!description.startsWith(expected)) problems.push(`${name}:${param.line} parameter ${param.name}: @description should start with "${expected}"`);
  }
  for (const output of file.outputs) {
    if (!decoratorText(output, 'description')) problems.push(`${name}:${output.line} output ${output.name} has no @description`);
  }
  return problems;
}

/** Parameter names that hold a secret value (not the name, id or address of one). */
const SECRET_NAME = /secret|password|passwd|token|connectionstring|privatekey|apikey|accesskey|sastoken|pfx/i;
const NOT_A_SECRET = /(name|names|id|ids|uri|url|type|exists|days|endpoint)$/i;

/** Secret-looking parameters are @secure() without a default; no output reveals a @secure() one or calls list*(). */
export function secretProblems(name: string, file: BicepFile): string[] {
  const problems: string[] = [];
  const secure = new Set<string>();
  for (const param of file.params) {
    const isSecure = param.decorators.some((d) => d.name === 'secure');
    if (isSecure) secure.add(param.name);
    if (SECRET_NAME.test(param.name) && !NOT_A_SECRET.test(param.name) && !isSecure) {
      problems.push(`${name}:${param.line} parameter ${param.name} looks like a secret but is not @secure()`);
    }
    if (isSecure && param.defaultValue) problems.push(`${name}:${param.line} @secure() parameter ${param.name} has a default`);
  }
  for (const output of file.outputs) {
    if (output.decorators.some((d) => d.name === 'secure')) problems.push(`${name}:${output.line} output ${output.name} is @secure(): secrets are not output`);
    const leaked = readsTransitively(file, identifiersRead(output.value.node)).filter((id) => secure.has(id));
    if (leaked.length) problems.push(`${name}:${output.line} output ${output.name} reveals @secure() ${leaked.join(', ')}`);
    if (/\blist\w*\(/i.test(output.value.node.text)) problems.push(`${name}:${output.line} output ${output.name} calls a list*() function`);
  }
  return problems;
}

/** Identifiers an expression reads, following variables to what they read. */
function readsTransitively(file: BicepFile, ids: string[], seen = new Set<string>()): string[] {
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    const variable = file.vars.find((v) => v.name === id);
    if (variable) readsTransitively(file, identifiersRead(variable.value.node), seen);
  }
  return [...seen];
}

export function locationProblems(name: string, file: BicepFile): string[] {
  const problems: string[] = [];
  for (const resource of file.resources) {
    if (resource.existing || resource.body.kind !== 'object') continue;
    const location = resource.body.properties.find((p) => p.key === 'location');
    if (location?.value.kind === 'string') problems.push(`${name}:${resource.line} ${resource.name} has a hard-coded location`);
    if (location && !resource.body.properties.some((p) => p.key === 'tags')) problems.push(`${name}:${resource.line} ${resource.name} sets no tags`);
  }
  return problems;
}

/** Every GUID literal is named by a comment on its line or the line above, as the table names it. */
export function guidCommentProblems(templates: Templates, known: readonly (RoleRow | ApplicationRow)[]): string[] {
  const names = new Map(known.map((r) => [r.id, r.name]));
  const problems: string[] = [];
  for (const [name, file] of templates) {
    const lines = file.source.split('\n');
    for (const node of file.root.descendantsOfType('string')) {
      const value = stringLiteral(node);
      if (!value || !GUID.test(value)) continue;
      const row = node.startPosition.row;
      const trailing = /\/\/\s*(.+?)\s*$/.exec(lines[row]!.slice(node.endPosition.column))?.[1];
      const above = /^\s*\/\/\s*(.+?)\s*$/.exec(lines[row - 1] ?? '')?.[1];
      const comment = trailing ?? above;
      const expected = names.get(value.toLowerCase());
      if (!expected) problems.push(`${name}:${row + 1} ${value} is not in infra/roles.md`);
      else if (comment !== expected) problems.push(`${name}:${row + 1} ${value} is ${expected}, but its comment says "${comment ?? '(none)'}"`);
    }
  }
  return problems;
}

export function guidsUsed(templates: Templates): Set<string> {
  const used = new Set<string>();
  for (const file of templates.values()) {
    for (const node of file.root.descendantsOfType('string')) {
      const value = stringLiteral(node)?.toLowerCase();
      if (value && GUID.test(value)) used.add(value);
    }
  }
  return used;
}

/**
 * Every role assignment: a role of the table, assigned in a file the table
 * lists, `scope:` on a resource of that file whose type the table lists, named
 * guid(<scope>.id, <principalId>, <role id>), with principalType.
 */
export function roleAssignmentProblems(templates: Templates, roles: readonly RoleRow[]): string[] {
  const problems: string[] = [];
  for (const [name, file] of templates) {
    for (const resource of file.resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')) {
      const at = `${name}:${resource.line} ${resource.name}`;
      const top = (key: string) => (resource.body.kind === 'object' ? resource.body.properties.find((p) => p.key === key)?.value : undefined);
      const properties = top('properties');
      const prop = (key: string) => (properties?.kind === 'object' ? properties.properties.find((p) => p.key === key)?.value : undefined);

      const roleNode = prop('roleDefinitionId')?.node;
      const roleId = roleNode && resolveString(roleNode, file)?.toLowerCase();
      const role = roles.find((r) => r.id === roleId);
      if (!role) {
        problems.push(`${at}: roleDefinitionId ${roleNode?.text ?? '(none)'} does not resolve to a role of infra/roles.md`);
        continue;
      }
      if (!role.files.includes(name)) problems.push(`${at}: ${role.name} may only be assigned in ${role.files.join(', ')}`);

      const scope = top('scope');
      // `queues[i]`: one element of a resource loop, from an assignment that loops over the same elements.
      const indexed = scope && /^(\w+)\[(\w+)\]$/.exec(scope.node.text);
      const scopeResource = scope && file.resources.find((r) => r.name === (indexed ? indexed[1] : scope.node.text));
      if (!scopeResource) problems.push(`${at}: ${role.name} has no scope: naming a resource of this file, so it would cover the resource group`);
      else if (!role.scopes.includes(scopeResource.type)) {
        problems.push(`${at}: ${role.name} is scoped to ${scopeResource.type}; infra/roles.md allows ${role.scopes.join(', ')}`);
      }
      if (indexed && scopeResource) problems.push(...loopScopeProblems(at, resource, scopeResource, indexed[2]!));

      const nameNode = top('name')?.node;
      const args =
        nameNode?.type === 'call_expression' && nameNode.childForFieldName('function')?.text === 'guid'
          ? nameNode.childForFieldName('arguments')!.namedChildren.filter((c) => c.type !== 'comment')
          : [];
      const principal = prop('principalId')?.node.text;
      if (
        args.length !== 3 ||
        args[0]!.text !== `${scope?.node.text}.id` ||
        args[1]!.text !== principal ||
        resolveString(args[2]!, file)?.toLowerCase() !== role.id
      ) {
        problems.push(`${at}: name should be guid(${scope?.node.text}.id, ${principal}, <${role.name} id>), not ${nameNode?.text}`);
      }
      if (!prop('principalType')) problems.push(`${at}: principalType is not set`);
    }
  }
  return problems;
}

/**
 * An assignment scoped to `<loop>[<index>]` must take every element of the loop
 * once: iterate `range(0, length(<source>))` as `<index>`, or `(x, <index>) in <source>`,
 * where `<source>` is what the scope's resource loop iterates.
 */
function loopScopeProblems(at: string, assignment: ResourceDecl, scope: ResourceDecl, index: string): string[] {
  if (!scope.loopOver) return [`${at}: scope ${scope.name}[${index}] indexes ${scope.name}, which is not a resource loop`];
  const text = (node: { text: string }) => node.text.replace(/\s+/g, '');
  const source = text(scope.loopOver.source);
  const loop = assignment.loopOver;
  const everyOne =
    loop && ((loop.item === index && text(loop.source) === `range(0,length(${source}))`) || (loop.index === index && text(loop.source) === source));
  return everyOne ? [] : [`${at}: scoped to ${scope.name}[${index}], it must loop over every one: [for ${index} in range(0, length(${source})): ...]`];
}

/**
 * The string a node stands for when it is a literal, a variable holding one, a
 * member of a variable's object literal (`roleIds.blobDataOwner`), or the last
 * argument of `subscriptionResourceId(...)`; undefined when computed.
 */
export function resolveString(node: Value['node'], file: BicepFile): string | undefined {
  switch (node.type) {
    case 'string':
      return stringLiteral(node);
    case 'identifier': {
      const value = file.vars.find((v) => v.name === node.text)?.value;
      return value?.kind === 'string' ? value.value : undefined;
    }
    case 'member_expression': {
      const object = node.childForFieldName('object');
      const property = node.childForFieldName('property')?.text;
      if (object?.type !== 'identifier') return undefined;
      const value = file.vars.find((v) => v.name === object.text)?.value;
      const member = value?.kind === 'object' ? value.properties.find((p) => p.key === property)?.value : undefined;
      return member?.kind === 'string' ? member.value : undefined;
    }
    case 'call_expression': {
      const fn = node.childForFieldName('function')?.text;
      const args = node.childForFieldName('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
      if (fn === 'subscriptionResourceId' || fn === 'tenantResourceId' || fn === 'resourceId') {
        return args.length ? resolveString(args[args.length - 1]!, file) : undefined;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

export interface AppSettings {
  file: string;
  bicep: BicepFile;
  properties: Property[];
}

/** The object literal of the `Microsoft.Web/sites/config` resource named 'appsettings'. */
export function findAppSettings(templates: Templates): AppSettings | undefined {
  for (const [file, bicep] of templates) {
    for (const resource of bicep.resources) {
      if (resource.type !== 'Microsoft.Web/sites/config' || resource.body.kind !== 'object') continue;
      const name = resource.body.properties.find((p) => p.key === 'name')?.value;
      const properties = resource.body.properties.find((p) => p.key === 'properties')?.value;
      if (name?.kind === 'string' && name.value === 'appsettings' && properties?.kind === 'object') {
        return { file, bicep, properties: properties.properties };
      }
    }
  }
  return undefined;
}

/**
 * Deployed settings against the code's: every setting the code declares is
 * deployed, and every deployed one is declared by the code or is a host setting.
 */
export function appSettingProblems(
  settings: AppSettings,
  codeSettings: readonly string[],
  hostSettings: ReadonlySet<string>,
): string[] {
  const deployed = settings.properties.map((p) => p.key);
  const problems: string[] = [];
  if (deployed.some((k) => k === undefined)) problems.push(`${settings.file}: an app setting name is computed`);
  const duplicates = deployed.filter((k, i) => deployed.indexOf(k) !== i);
  if (duplicates.length) problems.push(`${settings.file}: set twice: ${duplicates.join(', ')}`);
  for (const name of codeSettings) {
    if (!deployed.includes(name)) problems.push(`${settings.file}: ${name} is declared in shared/config/settingsSchema.ts but not deployed`);
  }
  for (const name of deployed) {
    if (name && !codeSettings.includes(name) && !hostSettings.has(name)) {
      problems.push(`${settings.file}: ${name} is deployed but neither declared in shared/config/settingsSchema.ts nor a listed host setting`);
    }
  }
  return problems;
}

/**
 * The literal a deployed setting gets when nobody overrides a parameter: a
 * module parameter's value as every caller passes it, down to the caller's own
 * parameter default. Undefined when computed or when callers disagree.
 */
export function deployedDefault(value: Value, file: string, templates: Templates): string | number | boolean | undefined {
  if ('value' in value) return value.value as string | number | boolean;
  const bicep = templates.get(file);
  let node = value.node;
  if (node.type === 'call_expression' && node.childForFieldName('function')?.text === 'string') {
    node = node.childForFieldName('arguments')!.namedChildren[0]!; // string(imapPort)
  }
  const param = node.type === 'identifier' ? bicep?.params.find((p) => p.name === node.text) : undefined;
  if (!param) return undefined;
  const own = () => (param.defaultValue ? deployedDefault(param.defaultValue, file, templates) : undefined);
  const callers = [...templates].flatMap(([callerFile, caller]) =>
    caller.modules.filter((m) => moduleKey(callerFile, m) === file).map((module) => ({ callerFile, module })),
  );
  if (callers.length === 0) return own();
  const found = callers.map(({ callerFile, module }) => {
    const passed = moduleParams(module).find((p) => p.key === param.name)?.value;
    return passed ? deployedDefault(passed, callerFile, templates) : own();
  });
  return found.every((f) => f === found[0]) ? found[0] : undefined;
}
