/**
 * The templates under infra/, parsed once per test process, the type index, and
 * infra/roles.md.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBicep, type BicepFile } from './bicep.js';
import { BicepTypes } from './bicepTypes.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const infraDir = join(repoRoot, 'infra');
/** The in-repo copy, test/fixtures/bicep-types (see test/fixtures/README.md), unless BICEP_TYPES_DIR says otherwise. */
export const bicepTypesDir = process.env.BICEP_TYPES_DIR ?? join(repoRoot, 'test/fixtures/bicep-types');

export function bicepPaths(dir = infraDir): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return bicepPaths(path);
      return name.endsWith('.bicep') ? [path] : [];
    });
}

let templates: Promise<Map<string, BicepFile>> | undefined;

/** Every .bicep file under infra/, keyed by its path relative to infra/ (`modules/x.bicep`). */
export function loadTemplates(): Promise<Map<string, BicepFile>> {
  templates ??= Promise.all(bicepPaths().map(readBicep)).then(
    (files) => new Map(files.map((f) => [relative(infraDir, f.path).split('\\').join('/'), f])),
  );
  return templates;
}

let types: BicepTypes | undefined;
export function bicepTypes(): BicepTypes {
  types ??= new BicepTypes(bicepTypesDir);
  return types;
}

export interface RoleRow {
  name: string;
  id: string;
  files: string[];
  scopes: string[];
}

export interface ApplicationRow {
  name: string;
  id: string;
}

/** The two tables of infra/roles.md. */
export function readRoleTable(path = join(infraDir, 'roles.md')): { roles: RoleRow[]; applications: ApplicationRow[] } {
  const roles: RoleRow[] = [];
  const applications: ApplicationRow[] = [];
  let section = '';
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    if (raw.startsWith('## ')) section = raw.slice(3).trim().toLowerCase();
    if (!raw.startsWith('|')) continue;
    const cells = raw.split('|').slice(1, -1).map((c) => c.trim());
    const ticked = (cell = '') => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const id = ticked(cells[1])[0];
    if (!id || !/^[0-9a-f-]{36}$/i.test(id)) continue; // header and separator rows
    if (section.startsWith('azure built-in roles')) {
      roles.push({ name: cells[0]!, id: id.toLowerCase(), files: ticked(cells[2]), scopes: ticked(cells[3]) });
    } else if (section.startsWith('well-known application')) {
      applications.push({ name: cells[0]!, id: id.toLowerCase() });
    }
  }
  return { roles, applications };
}
