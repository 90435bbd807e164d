/**
 * `azd up` works from this repository: azure.yaml is valid against azd's
 * published JSON Schema (a copy in test/fixtures/azd, see its README), names a
 * function app service in TypeScript provisioned from infra/, and
 * infra/main.parameters.json gives main.bicep only parameters it declares,
 * every required one, from azd's variables; the function app carries the tag
 * azd finds the service by.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv2019 } from 'ajv/dist/2019.js';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json' with { type: 'json' };
import { propertyAt } from './support/bicep.js';
import { loadTemplates, repoRoot } from './support/infra.js';
import { parseYaml, type Yaml } from './support/yaml.js';

const SCHEMA_BASE = 'https://raw.githubusercontent.com/Azure/azure-dev/main/';
const schemaDir = join(repoRoot, 'test/fixtures/azd');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsonFiles(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

/** azd's azure.yaml schema and the extension schemas it refers to, each under the URL it is published at. */
function azureYamlValidator() {
  const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
  ajv.addMetaSchema(draft07);
  for (const path of jsonFiles(schemaDir)) {
    const schema = JSON.parse(readFileSync(path, 'utf8')) as { $id?: string };
    const url = SCHEMA_BASE + relative(schemaDir, path).split('\\').join('/');
    ajv.addSchema(schema, schema.$id ? undefined : url);
  }
  const validate = ajv.getSchema(`${SCHEMA_BASE}schemas/v1.0/azure.yaml.json`);
  assert.ok(validate, 'the azure.yaml schema is not in test/fixtures/azd');
  return (value: unknown) => (validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`));
}

const text = readFileSync(join(repoRoot, 'azure.yaml'), 'utf8');
const project = parseYaml(text) as Record<string, Yaml>;
const validate = azureYamlValidator();
const templates = await loadTemplates();
const get = (value: Yaml | undefined, path: string): Yaml | undefined =>
  path.split('.').reduce<Yaml | undefined>((v, k) => (v && typeof v === 'object' && !Array.isArray(v) ? v[k] : undefined), value);

describe('azure.yaml (azd up)', () => {
  test("is valid against azd's JSON schema, which rejects what azd rejects", () => {
    assert.deepEqual(validate(project), []);
    // The schema bites: a project without a name, and a hook with a shell azd does not have.
    assert.notDeepEqual(validate({ services: {} }), []);
    assert.notDeepEqual(validate({ ...project, services: { api: { ...(project.services as object as { api: object }).api, hooks: { prepackage: { shell: 'bash', run: 'x' } } } } }), []);
  });

  test('declares one service, api: a TypeScript function app, provisioned from infra/main.bicep', () => {
    assert.equal(get(project, 'infra.provider') ?? 'bicep', 'bicep');
    const infra = String(get(project, 'infra.path') ?? 'infra');
    const module = String(get(project, 'infra.module') ?? 'main');
    assert.ok(existsSync(join(repoRoot, infra, `${module}.bicep`)), `${infra}/${module}.bicep does not exist`);
    assert.deepEqual(Object.keys(project.services as object), ['api']);
    assert.equal(get(project, 'services.api.host'), 'function');
    assert.equal(get(project, 'services.api.language'), 'ts');
    assert.equal(get(project, 'services.api.project'), '.');
    // azd zips the dist folder; the prepackage hook fills it from `npm run package`.
    const dist = get(project, 'services.api.dist');
    assert.match(String(get(project, 'services.api.hooks.prepackage.run')), new RegExp(`^npm run package && .*mail-drain\\.zip.*'${String(dist).replace('.', '\\.')}'`));
  });

  test('the function app carries the tag azd-service-name of that service', () => {
    const site = [...templates.values()].flatMap((f) => f.resources.map((r) => ({ f, r }))).find(({ r }) => r.type === 'Microsoft.Web/sites');
    assert.ok(site);
    const tags = propertyAt(site.r.body, 'tags')?.node.text ?? '';
    const value = site.f.vars.find((v) => v.name === tags)?.value.node.text ?? tags;
    assert.match(value, /'azd-service-name':\s*'api'/);
  });

  test('infra/main.parameters.json sets only parameters of main.bicep, every required one, from azd variables', () => {
    const main = templates.get('main.bicep')!;
    const file = JSON.parse(readFileSync(join(repoRoot, 'infra/main.parameters.json'), 'utf8')) as { parameters: Record<string, { value: unknown }> };
    const given = Object.keys(file.parameters);
    assert.deepEqual(given.filter((name) => !main.params.some((p) => p.name === name)), [], 'parameters main.bicep does not declare');
    assert.deepEqual(main.params.filter((p) => !p.defaultValue && !p.type.endsWith('?') && !given.includes(p.name)).map((p) => p.name), [], 'required parameters not given');
    assert.equal(file.parameters.location?.value, '${AZURE_LOCATION}');
    assert.equal((file.parameters.tags?.value as Record<string, string>)['azd-env-name'], '${AZURE_ENV_NAME}');
    for (const [name, { value }] of Object.entries(file.parameters)) {
      for (const reference of JSON.stringify(value).match(/\$\{[^}]*\}/g) ?? []) {
        assert.match(reference, /^\$\{[A-Z][A-Z0-9_]*(=[^}]*)?\}$/, `${name}: ${reference} is not an azd variable`);
      }
    }
  });

  test('docs/deploy.md walks both paths: azd up, and az', () => {
    const guide = readFileSync(join(repoRoot, 'docs/deploy.md'), 'utf8');
    for (const command of ['azd env new', 'azd up', 'az deployment group create']) assert.ok(guide.includes(command), command);
    for (const variable of readFileSync(join(repoRoot, 'infra/main.parameters.json'), 'utf8').matchAll(/\$\{([A-Z0-9_]+)=/g)) {
      assert.ok(guide.includes(variable[1]!), `docs/deploy.md does not say how to set ${variable[1]}`);
    }
  });
});
