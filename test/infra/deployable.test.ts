/**
 * What a user runs works, and a second environment is safe (issue 13): each
 * test is named after what broke. Templates are read as parsed Bicep; the
 * guide's and the README's commands are read as text and checked against the
 * files, parameters and outputs they use.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { declaredSettings } from '../../shared/config/declaredSettings.js';
import { LEASE_SECONDS } from '../../shared/outbox/mailboxLease.js';
import { allowedValues, literalAt, propertyAt, type BicepFile, type ResourceDecl, type Value } from './support/bicep.js';
import { findAppSettings, moduleParams } from './support/checks.js';
import { infraDir, loadTemplates, repoRoot } from './support/infra.js';

const templates = await loadTemplates();
const main = templates.get('main.bicep')!;
const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const guide = read('docs/deploy.md');
const readme = read('README.md');
const bicepparam = read('infra/main.bicepparam');

const module = (path: string) => {
  const found = main.modules.find((m) => m.path === path);
  assert.ok(found, `main.bicep does not call ${path}`);
  return found;
};
const passed = (path: string, param: string) => moduleParams(module(path)).find((p) => p.key === param)?.value;
const param = (file: BicepFile, name: string) => file.params.find((p) => p.name === name);

/**
 * The text of an expression with every variable and parameter it reads
 * replaced, recursively, by its value (and, with `params`, a parameter by its
 * default), so that what a name is derived from shows.
 */
function expand(text: string, file: BicepFile, { params = true } = {}, depth = 0): string {
  if (depth > 8) return text;
  return text.replace(/(?<![.\w'])([A-Za-z_]\w*)(?![\w(])/g, (name) => {
    const variable = file.vars.find((v) => v.name === name);
    if (variable) return `(${expand(variable.value.node.text, file, { params }, depth + 1)})`;
    const declared = params ? file.params.find((p) => p.name === name) : undefined;
    if (declared?.defaultValue) return `(${expand(declared.defaultValue.node.text, file, { params }, depth + 1)})`;
    return name;
  });
}

/** A variable's value when `value` is an identifier naming one, else `value`. */
function deref(value: Value | undefined, file: BicepFile): Value | undefined {
  if (value?.kind !== 'expression' || value.node.type !== 'identifier') return value;
  return file.vars.find((v) => v.name === value.node.text)?.value ?? value;
}

/** Shell commands of a Markdown text, with `\` continuations joined. */
function commands(text: string): string[] {
  return text.replace(/\\\r?\n\s*/g, ' ').split('\n').map((l) => l.trim());
}

const RG_UNIQUE = /uniqueString\(resourceGroup\(\)\.id\b/;

describe('deployable for real (issue 13)', () => {
  // 1
  test('admin consent is granted through Graph appRoleAssignedTo, not `az ad app permission admin-consent` (fails in Cloud Shell, azure-cli#29424)', () => {
    for (const [name, text] of [['docs/deploy.md', guide], ['README.md', readme]] as const) {
      assert.deepEqual(commands(text).filter((c) => /^az ad app permission admin-consent\b/.test(c)), [], `${name} runs the deprecated admin-consent`);
    }
    const grant = commands(guide).find((c) => /^az rest --method POST\b/.test(c) && c.includes('/appRoleAssignedTo'));
    assert.ok(grant, 'docs/deploy.md does not POST to servicePrincipals/{id}/appRoleAssignedTo');
    assert.match(grant, /graph\.microsoft\.com\/v1\.0\/servicePrincipals\/\$EXCHANGE_SP\/appRoleAssignedTo/);
    for (const field of ['principalId', 'resourceId', 'appRoleId']) assert.match(grant, new RegExp(`\\\\"${field}\\\\"`), `the body has no ${field}`);
    // Consent missing and the Exchange service principal missing are told apart (by doctor's token check).
    assert.match(guide, /ENTRA_CONSENT_MISSING/);
    assert.match(guide, /IMAP_AUTH_FAILED/);
  });

  // 2
  test('certificate policies: `certificate create` uses one that can create (issuer, subject, validity, auto-renewal), `import` one for import', () => {
    const uses = [...commands(guide), ...commands(readme)].flatMap((c) => {
      const m = /^az keyvault certificate (create|import)\b.*--policy @(\S+)/.exec(c);
      return m ? [{ verb: m[1]!, file: m[2]! }] : [];
    });
    assert.ok(uses.some((u) => u.verb === 'create') && uses.some((u) => u.verb === 'import'), JSON.stringify(uses));
    uses.sort((a, b) => Number(a.verb === 'import') - Number(b.verb === 'import'));
    const policies = readdirSync(infraDir).filter((f) => /^certificate-policy.*\.json$/.test(f));
    for (const { verb, file } of uses) {
      const policy = JSON.parse(read(file));
      const at = `${verb} --policy @${file}`;
      assert.equal(policy.keyProperties?.keyType, 'RSA', `${at}: Entra ID takes RSA assertions only`);
      assert.equal(policy.keyProperties?.exportable, true, `${at}: the drain reads the private key through the secret`);
      assert.equal(policy.secretProperties?.contentType, 'application/x-pem-file', `${at}: the drain reads PEM`);
      if (verb === 'create') {
        assert.ok(policy.issuerParameters?.name, `${at}: a create policy needs an issuer`);
        const x509 = policy.x509CertificateProperties ?? {};
        assert.ok(x509.subject || x509.subjectAlternativeNames, `${at}: a create policy needs a subject or SAN`);
        assert.ok(Number.isInteger(x509.validityInMonths) && x509.validityInMonths > 0, `${at}: no validityInMonths`);
        const renew = (policy.lifetimeActions ?? []).find((a: { action?: { actionType?: string } }) => a.action?.actionType === 'AutoRenew');
        assert.ok(renew?.trigger?.daysBeforeExpiry ?? renew?.trigger?.lifetimePercentage, `${at}: Key Vault does not renew it (lifetimeActions AutoRenew)`);
      } else {
        assert.notEqual(file, uses.find((u) => u.verb === 'create')?.file, 'import and create name the same policy: say which is which');
      }
    }
    assert.deepEqual(policies.filter((p) => !uses.some((u) => u.file === `infra/${p}`)), [], 'a policy under infra/ that no command uses');
    // The renewed public key must reach the app registration: the guide says how.
    assert.match(guide, /CertificateNewVersionCreated|after each renewal/i);
  });

  // 3
  test("a second environment in the same tenant does not take over the first one's app registration or federated credential", () => {
    const unique = passed('modules/app-registration.bicep', 'uniqueName');
    assert.ok(unique, 'main.bicep passes no uniqueName');
    assert.match(expand(unique.node.text, main), RG_UNIQUE, `uniqueName ${unique.node.text} is not unique per resource group`);

    const registration = templates.get('modules/app-registration.bicep')!;
    const credential = registration.resources.find((r) => r.type === 'Microsoft.Graph/applications/federatedIdentityCredentials');
    const name = propertyAt(credential?.body, 'name')?.node.text ?? '';
    const child = /^'\$\{application\.uniqueName\}\/\$\{(\w+)\}'$/.exec(name)?.[1];
    assert.ok(child, `the federated credential's name ${name} is fixed; its part after the application must come from a parameter`);
    const given = passed('modules/app-registration.bicep', child);
    assert.ok(given, `main.bicep passes no ${child}`);
    assert.match(expand(given.node.text, main), RG_UNIQUE, `${child} ${given.node.text} is not unique per resource group`);
  });

  // 4
  test('LOG_LEVEL=debug reaches Application Insights: the host\'s Function log level follows logLevel', () => {
    const settings = findAppSettings(templates)!;
    const file = templates.get(settings.file)!;
    const setting = settings.properties.find((p) => p.key === 'AzureFunctionsJobHost__logging__logLevel__Function');
    assert.ok(setting, 'no AzureFunctionsJobHost__logging__logLevel__Function setting: host.json alone filters the Function category at Information');
    const lookup = /^(\w+)\[logLevel\]$/.exec(setting.value.node.text)?.[1];
    assert.ok(lookup, `the host level ${setting.value.node.text} is not derived from logLevel`);
    const map = file.vars.find((v) => v.name === lookup)?.value;
    const verbosity = ['Trace', 'Debug', 'Information', 'Warning', 'Error', 'Critical', 'None'];
    const ours = ['debug', 'info', 'warn', 'error'];
    for (const level of allowedValues(param(file, 'logLevel')!) ?? []) {
      const host = literalAt(map, String(level));
      assert.ok(typeof host === 'string' && verbosity.includes(host), `logLevel ${level} has no .NET level`);
      // The host must pass at least what the drain logs at that level.
      assert.ok(verbosity.indexOf(host) <= ours.indexOf(String(level)) + 1, `logLevel ${level} maps to ${host}, which hides its lines`);
    }
    const host = JSON.parse(read('host.json'));
    assert.ok(host.logging?.logLevel?.Function, 'host.json has no logging.logLevel.Function for the setting to override');
  });

  // 5
  test('an app registration created here is signed in to in this tenant, whatever tenantId says', () => {
    const tenant = deref(passed('modules/function-app.bicep', 'tenantId'), main);
    assert.equal(tenant?.kind, 'conditional', `TENANT_ID is ${tenant?.node.text}, also when the template creates the application`);
    if (tenant?.kind !== 'conditional') return;
    assert.match(tenant.node.text, /^\(?\s*createAppRegistration\b/);
    assert.equal(tenant.whenTrue.node.text, 'tenant().tenantId');
    const registration = templates.get('modules/app-registration.bicep')!;
    assert.equal(param(registration, 'tenantId'), undefined, 'the app registration module still takes a tenantId to override');
    const credential = registration.resources.find((r) => r.type === 'Microsoft.Graph/applications/federatedIdentityCredentials');
    assert.match(propertyAt(credential?.body, 'issuer')?.node.text ?? '', /\$\{tenant\(\)\.tenantId\}/);
    assert.equal(deref(main.outputs.find((o) => o.name === 'tenantId')?.value, main)?.node.text, tenant.node.text);
  });

  // 6
  test('federated (no secret anywhere) is the default when the app registration is created here; then no Key Vault and no KEY_VAULT_URL', () => {
    const assigned = (name: string) => new RegExp(`^param\\s+${name}\\s*=\\s*(.+)$`, 'm').exec(bicepparam)?.[1]?.trim();
    if (assigned('createAppRegistration') === 'true') assert.equal(assigned('credentialType'), "'federated'", 'main.bicepparam');
    const credentialType = param(main, 'credentialType')?.defaultValue;
    assert.equal(credentialType?.kind, 'conditional', `credentialType defaults to ${credentialType?.node.text}`);
    if (credentialType?.kind === 'conditional') {
      assert.match(credentialType.node.text, /^\(?\s*createAppRegistration\b/);
      assert.equal(credentialType.whenTrue.kind === 'string' && credentialType.whenTrue.value, 'federated');
    }
    const vault = module('modules/key-vault.bicep');
    assert.match(expand(vault.condition?.text ?? '', main, { params: false }), /credentialType != 'federated'/, 'the Key Vault is deployed for federated too');
    const url = deref(passed('modules/function-app.bicep', 'keyVaultUri'), main);
    assert.equal(url?.kind, 'conditional', `KEY_VAULT_URL is ${url?.node.text} whatever the credential type`);
    if (url?.kind === 'conditional') assert.equal(url.whenFalse.kind === 'string' && url.whenFalse.value, '');
  });

  // 7
  test("diagnostic settings send Key Vault's AuditEvent and the storage services' logs to the Log Analytics workspace", () => {
    const problems: string[] = [];
    let vaults = 0;
    let services = 0;
    for (const [name, file] of templates) {
      const settings = file.resources.filter((r) => r.type === 'Microsoft.Insights/diagnosticSettings');
      const scopedTo = (r: ResourceDecl) => settings.find((s) => propertyAt(s.body, 'scope')?.node.text === r.name);
      const categories = (s: ResourceDecl | undefined) => {
        const logs = deref(propertyAt(s?.body, 'properties.logs'), file);
        return logs?.kind === 'array' ? logs.items.filter((l) => literalAt(l, 'enabled') === true).map((l) => String(literalAt(l, 'category'))) : [];
      };
      const wants = (r: ResourceDecl, expected: string[]) => {
        const setting = scopedTo(r);
        if (!setting) return problems.push(`${name}: ${r.name} (${r.type}) has no diagnostic setting`);
        const workspace = propertyAt(setting.body, 'properties.workspaceId')?.node.text ?? '';
        const passedIn = main.modules.filter((m) => m.path === name).map((m) => moduleParams(m).find((p) => p.key === workspace)?.value.node.text);
        if (!passedIn.length || passedIn.some((t) => t !== 'monitoring.outputs.workspaceResourceId')) {
          problems.push(`${name}: ${setting.name} sends to ${workspace} (${passedIn.join(', ')}), not the workspace`);
        }
        const missing = expected.filter((c) => !categories(setting).includes(c));
        if (missing.length) problems.push(`${name}: ${setting.name} does not log ${missing.join(', ')}`);
      };
      for (const r of file.resources.filter((r) => !r.existing)) {
        if (r.type === 'Microsoft.KeyVault/vaults') vaults++, wants(r, ['AuditEvent']);
        if (/^Microsoft\.Storage\/storageAccounts\/(blob|queue|table|file)Services$/.test(r.type)) {
          services++;
          // The output account holds the mail: who read it matters too.
          wants(r, name === 'modules/output-storage.bicep' ? ['StorageRead', 'StorageWrite', 'StorageDelete'] : ['StorageWrite', 'StorageDelete']);
        }
      }
    }
    assert.equal(vaults, 1);
    assert.ok(services >= 3, `only ${services} storage services`);
    assert.deepEqual(problems, []);
  });

  // 8
  test('the credential uploader is deployer(), opt-in, and the guide removes its role after the upload', () => {
    assert.deepEqual(main.params.filter((p) => /uploader.*objectid/i.test(p.name)).map((p) => p.name), [], 'an object id parameter for the uploader');
    assert.doesNotMatch(bicepparam, /readEnvironmentVariable\(/, 'main.bicepparam reads the uploader from the environment');
    const uploader = passed('modules/key-vault.bicep', 'uploaderObjectId');
    const optIn = /^(\w+) \? deployer\(\)\.objectId : ''$/.exec(uploader?.node.text ?? '')?.[1];
    assert.ok(optIn, `uploaderObjectId is ${uploader?.node.text}, not "<opt-in> ? deployer().objectId : ''"`);
    const flag = param(main, optIn);
    assert.equal(flag?.type, 'bool');
    assert.equal(flag?.defaultValue?.kind === 'boolean' && flag.defaultValue.value, false, `${optIn} is not opt-in`);
    const removals = commands(guide).filter((c) => /^az role assignment delete\b/.test(c));
    for (const role of ['Key Vault Secrets Officer', 'Key Vault Certificates Officer']) {
      assert.ok(removals.some((c) => c.includes(`"${role}"`)), `docs/deploy.md does not remove ${role}`);
    }
  });

  // 9
  test('a timer app: host storage grants blobs only and deploys no queue or table endpoint', () => {
    const functions = readdirSync(join(repoRoot, 'functions')).filter((f) => f.endsWith('.ts')).map((f) => read(`functions/${f}`)).join('\n');
    const triggers = [...functions.matchAll(/\bapp\.(\w+)\(/g)].map((m) => m[1]!);
    assert.ok(triggers.length > 0);
    // A queue-triggered function (the fan-out) reads its own queue through its own connection;
    // only blob triggers and Durable Functions need queues or tables in host storage.
    assert.deepEqual(triggers.filter((t) => !['timer', 'storageQueue', 'http'].includes(t)), [], 'a trigger that may need host queues or tables: revisit modules/host-storage.bicep');
    const host = templates.get('modules/host-storage.bicep')!;
    const roles = host.resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments').map((r) => r.name);
    assert.deepEqual(roles, ['blobDataOwner']);
    assert.deepEqual(host.resources.filter((r) => /queueServices|tableServices/.test(r.type)).map((r) => r.name), []);
    const deployed = findAppSettings(templates)!.properties.map((p) => p.key);
    assert.deepEqual(deployed.filter((k) => /^AzureWebJobsStorage__(queue|table)ServiceUri$/.test(k ?? '')), []);
  });

  // 10
  test('New-ServicePrincipal takes -ObjectId everywhere, never the deprecated -ServiceId', () => {
    const texts = { 'README.md': readme, 'docs/deploy.md': guide, 'infra/exchange-setup.ps1': read('infra/exchange-setup.ps1') };
    const uses = Object.entries(texts).flatMap(([name, text]) =>
      text.split('\n').filter((l) => /New-ServicePrincipal\s+-/.test(l)).map((l) => ({ name, line: l.trim() })),
    );
    assert.ok(uses.some((u) => u.name === 'README.md') && uses.some((u) => u.name === 'infra/exchange-setup.ps1'));
    assert.deepEqual(uses.filter((u) => /-ServiceId\b/.test(u.line) || !/-ObjectId\b/.test(u.line)), []);
  });

  // Many mailboxes (issue 11)
  test("host.json: one drain per instance, a request to -poison after the failures DRAIN_REQUESTS_QUEUE's documentation names, back for a retry once a dead drain's lease has expired", () => {
    const queues = JSON.parse(read('host.json')).extensions?.queues ?? {};
    // Concurrency per instance is batchSize + newBatchThreshold: one drain, its 64 MiB in flight, its IMAP session.
    assert.equal(queues.batchSize, 1, 'an instance takes more than one drain request at a time');
    assert.equal(queues.newBatchThreshold, 0, 'an instance fetches the next drain request while one runs');
    assert.ok(Number.isInteger(queues.maxDequeueCount) && queues.maxDequeueCount > 1, 'maxDequeueCount');
    const meaning = declaredSettings.find((s) => s.name === 'DRAIN_REQUESTS_QUEUE')!.meaning;
    assert.match(meaning, new RegExp(`fails ${queues.maxDequeueCount} times`), 'DRAIN_REQUESTS_QUEUE says another number of failures than maxDequeueCount');
    const [h, m, sec] = String(queues.visibilityTimeout).split(':').map(Number);
    assert.equal(h! * 3600 + m! * 60 + sec!, LEASE_SECONDS, 'a retry before the lease of a dead drain expires finds the mailbox taken');
    // JSON has no comments: the README explains each number, as host.json has it.
    for (const [key, value] of Object.entries(queues)) {
      assert.match(readme, new RegExp(`\`(extensions\\.queues\\.)?${key}\` \`${String(value).replace(/\./g, '\\.')}\``), `README.md does not explain host.json's ${key} ${value}`);
    }
  });

  // Beyond the quickstart
  test('vnetEnabled: the app in a subnet with NAT egress, storage and Key Vault over private endpoints with their DNS zones', () => {
    const vnetEnabled = param(main, 'vnetEnabled');
    assert.equal(vnetEnabled?.type, 'bool');
    assert.equal(vnetEnabled?.defaultValue?.kind === 'boolean' && vnetEnabled.defaultValue.value, false, 'private networking is opt-in');
    assert.match(module('modules/network.bicep').condition?.text ?? '', /^\(vnetEnabled\)$/);

    // One private endpoint per sub-resource the drain uses.
    const endpoints = main.modules.filter((m) => m.path === 'modules/private-endpoint.bicep');
    const reached = endpoints.map((m) => {
      assert.match(m.condition?.text ?? '', /^\(vnetEnabled\b/, `${m.name} is not conditional on vnetEnabled`);
      const p = (key: string) => moduleParams(m).find((x) => x.key === key)?.value;
      const group = p('groupId');
      const zone = p('privateDnsZoneId')?.node.text;
      assert.equal(zone, `network!.outputs.${group?.kind === 'string' ? group.value : '?'}ZoneId`, `${m.name}: DNS zone ${zone} does not match its sub-resource`);
      return `${p('targetResourceId')?.node.text} ${group?.kind === 'string' ? group.value : '?'}`;
    });
    assert.deepEqual(reached.sort(), [
      'hostStorage.outputs.resourceId blob',
      'keyVault!.outputs.resourceId vault',
      'outputStorage.outputs.resourceId blob',
      'outputStorage.outputs.resourceId queue',
    ]);
    const vault = endpoints.find((m) => moduleParams(m).some((p) => p.value.node.text === 'keyVault!.outputs.resourceId'));
    assert.match(vault?.condition?.text ?? '', /useKeyVault/, 'a vault endpoint without a vault');

    // The app subnet: delegated to Flex Consumption, outbound through the NAT gateway only.
    const network = templates.get('modules/network.bicep')!;
    const vnet = network.resources.find((r) => r.type === 'Microsoft.Network/virtualNetworks');
    const subnets = propertyAt(vnet?.body, 'properties.subnets');
    assert.equal(subnets?.kind, 'array');
    const subnet = (name: string) => (subnets?.kind === 'array' ? subnets.items.find((s) => literalAt(s, 'name') === name) : undefined);
    const delegations = propertyAt(subnet('app'), 'properties.delegations');
    assert.equal(delegations?.kind === 'array' && literalAt(delegations.items[0], 'properties.serviceName'), 'Microsoft.App/environments');
    assert.equal(propertyAt(subnet('app'), 'properties.natGateway.id')?.node.text, 'natGateway.id');
    for (const name of ['app', 'private-endpoints']) assert.equal(literalAt(subnet(name), 'properties.defaultOutboundAccess'), false, name);
    for (const zone of network.resources.filter((r) => r.type === 'Microsoft.Network/privateDnsZones')) {
      assert.match(propertyAt(zone.body, 'name')?.node.text ?? '', /^zoneNames\.(blob|queue|vault)$/);
      const linked = network.resources.some((r) => r.type === 'Microsoft.Network/privateDnsZones/virtualNetworkLinks' && propertyAt(r.body, 'parent')?.node.text === zone.name && propertyAt(r.body, 'properties.virtualNetwork.id')?.node.text === 'vnet.id');
      assert.ok(linked, `${zone.name} is not linked to the virtual network`);
    }

    // The app joins the subnet; the host account closes its public endpoint; the app starts after its endpoint.
    assert.equal(passed('modules/function-app.bicep', 'appSubnetId')?.node.text, "vnetEnabled ? network!.outputs.appSubnetId : ''");
    const site = templates.get('modules/function-app.bicep')!.resources.find((r) => r.type === 'Microsoft.Web/sites');
    assert.equal(propertyAt(site?.body, 'properties.virtualNetworkSubnetId')?.node.text, 'empty(appSubnetId) ? null : appSubnetId');
    assert.equal(passed('modules/host-storage.bicep', 'publicNetworkAccess')?.node.text, "vnetEnabled ? 'Disabled' : 'Enabled'");
    assert.match(propertyAt(module('modules/function-app.bicep').body, 'dependsOn')?.node.text ?? '', /\bhostBlobEndpoint\b/);
  });
});
