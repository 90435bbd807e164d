/**
 * The settings that make the deployment what the issue asks for: a Flex
 * Consumption Linux app on Node 22 running as one user-assigned identity,
 * key-less storage, a vault with RBAC, soft delete and purge protection,
 * telemetry without local auth, the queues and the claim-check lifecycle, and
 * the outputs the next steps need. Each is read from the templates' literals.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { literalAt, propertyAt, type ResourceDecl } from './support/bicep.js';
import { loadTemplates } from './support/infra.js';

const templates = await loadTemplates();
const all = [...templates.entries()].flatMap(([file, t]) => t.resources.map((r) => ({ file, r })));
const declared = (type: string): ResourceDecl[] => all.filter(({ r }) => r.type === type && !r.existing).map(({ r }) => r);

function one(type: string): ResourceDecl {
  const found = declared(type);
  assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
  return found[0]!;
}

describe('infra/ security and shape', () => {
  test('storage accounts: no shared keys, HTTPS only, TLS 1.2, no public blob access', () => {
    const accounts = declared('Microsoft.Storage/storageAccounts');
    assert.equal(accounts.length, 2, 'one account for the Functions host, one for the output');
    for (const account of accounts) {
      assert.equal(literalAt(account.body, 'properties.allowSharedKeyAccess'), false, account.name);
      assert.equal(literalAt(account.body, 'properties.supportsHttpsTrafficOnly'), true, account.name);
      assert.equal(literalAt(account.body, 'properties.minimumTlsVersion'), 'TLS1_2', account.name);
      assert.equal(literalAt(account.body, 'properties.allowBlobPublicAccess'), false, account.name);
      assert.equal(literalAt(account.body, 'properties.defaultToOAuthAuthentication'), true, account.name);
    }
    for (const container of declared('Microsoft.Storage/storageAccounts/blobServices/containers')) {
      assert.equal(literalAt(container.body, 'properties.publicAccess'), 'None', container.name);
    }
  });

  test('the output queue, its -poison queue and the claim-check container exist, with a lifecycle delete rule from a parameter', () => {
    const file = templates.get('modules/output-storage.bicep')!;
    const queues = file.resources.filter((r) => r.type === 'Microsoft.Storage/storageAccounts/queueServices/queues');
    const names = queues.map((q) => propertyAt(q.body, 'name')!.node.text);
    assert.deepEqual(names.sort(), ['poisonQueueName', 'queueName']);
    const poison = file.vars.find((v) => v.name === 'poisonQueueName');
    assert.equal(poison?.value.node.text, "'${queueName}-poison'");

    const policy = one('Microsoft.Storage/storageAccounts/managementPolicies');
    const rules = propertyAt(policy.body, 'properties.policy.rules');
    assert.equal(rules?.kind, 'array');
    const rule = rules.kind === 'array' ? rules.items[0] : undefined;
    assert.equal(literalAt(rule, 'enabled'), true);
    const days = propertyAt(rule, 'definition.actions.baseBlob.delete.daysAfterModificationGreaterThan');
    assert.equal(days?.node.text, 'retentionDays', 'the retention comes from a parameter');
    // Which blobs it may delete (messages/ only, never locks/ or quarantine/): lifecycle.test.ts.
  });

  test('Key Vault: RBAC authorization, soft delete, purge protection', () => {
    const vault = one('Microsoft.KeyVault/vaults');
    assert.equal(literalAt(vault.body, 'properties.enableRbacAuthorization'), true);
    assert.equal(literalAt(vault.body, 'properties.enableSoftDelete'), true);
    assert.equal(literalAt(vault.body, 'properties.enablePurgeProtection'), true);
    assert.equal(propertyAt(vault.body, 'properties.accessPolicies'), undefined);
  });

  test('Application Insights on a Log Analytics workspace, local auth disabled', () => {
    const insights = one('Microsoft.Insights/components');
    assert.equal(literalAt(insights.body, 'properties.DisableLocalAuth'), true);
    assert.equal(propertyAt(insights.body, 'properties.WorkspaceResourceId')?.node.text, 'workspace.id');
    one('Microsoft.OperationalInsights/workspaces');
  });

  test('Flex Consumption: FC1 plan on Linux, a Node 22 app running as the user-assigned identity', () => {
    const plan = one('Microsoft.Web/serverfarms');
    assert.equal(literalAt(plan.body, 'sku.name'), 'FC1');
    assert.equal(literalAt(plan.body, 'sku.tier'), 'FlexConsumption');
    assert.equal(literalAt(plan.body, 'properties.reserved'), true);

    const site = one('Microsoft.Web/sites');
    assert.equal(literalAt(site.body, 'kind'), 'functionapp,linux');
    assert.equal(literalAt(site.body, 'identity.type'), 'UserAssigned');
    assert.equal(literalAt(site.body, 'properties.httpsOnly'), true);
    const config = 'properties.functionAppConfig';
    assert.equal(literalAt(site.body, `${config}.runtime.name`), 'node');
    assert.equal(literalAt(site.body, `${config}.runtime.version`), '22');
    assert.equal(literalAt(site.body, `${config}.deployment.storage.type`), 'blobContainer');
    assert.equal(literalAt(site.body, `${config}.deployment.storage.authentication.type`), 'UserAssignedIdentity');
    assert.ok(propertyAt(site.body, `${config}.scaleAndConcurrency.instanceMemoryMB`));
    assert.ok(propertyAt(site.body, `${config}.scaleAndConcurrency.maximumInstanceCount`));

    const scm = one('Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    assert.equal(literalAt(scm.body, 'properties.allow'), false);
  });

  test('one user-assigned identity, and no system-assigned one', () => {
    one('Microsoft.ManagedIdentity/userAssignedIdentities');
    for (const { file, r } of all) {
      const type = literalAt(r.body, 'identity.type');
      if (type !== undefined) assert.equal(type, 'UserAssigned', `${file}: ${r.name}`);
    }
  });

  test('the app registration: application, service principal, IMAP.AccessAsApp consent, federated credential for "federated"', () => {
    const file = templates.get('modules/app-registration.bicep')!;
    const of = (type: string) => file.resources.filter((r) => r.type === type);
    const exchange = of('Microsoft.Graph/servicePrincipals').find((r) => r.existing);
    assert.equal(literalAt(exchange?.body, 'appId') ?? propertyAt(exchange?.body, 'appId')?.node.text, 'exchangeOnlineAppId');
    assert.equal(of('Microsoft.Graph/applications').length, 1);
    assert.equal(of('Microsoft.Graph/servicePrincipals').filter((r) => !r.existing).length, 1);
    const consent = of('Microsoft.Graph/appRoleAssignedTo')[0];
    assert.equal(propertyAt(consent?.body, 'resourceId')?.node.text, 'exchangeOnline.id');
    assert.match(file.vars.find((v) => v.name === 'imapAccessAsApp')?.value.node.text ?? '', /'IMAP\.AccessAsApp'/);
    const fic = of('Microsoft.Graph/applications/federatedIdentityCredentials')[0];
    assert.equal(fic?.condition?.text, "(credentialType == 'federated')");
    assert.equal(propertyAt(fic?.body, 'subject')?.node.text, 'managedIdentityPrincipalId');

    const main = templates.get('main.bicep')!;
    assert.match(main.modules.find((m) => m.path === 'modules/app-registration.bicep')?.condition?.text ?? '', /createAppRegistration/);
  });

  test('main.bicep outputs what the next steps need', () => {
    const outputs = templates.get('main.bicep')!.outputs.map((o) => o.name);
    for (const name of [
      'functionAppName',
      'identityClientId',
      'keyVaultUri',
      'keyVaultName',
      'queueUrl',
      'poisonQueueUrl',
      'containerUrl',
      'appRegistrationClientId',
      'enterpriseAppObjectId',
    ]) {
      assert.ok(outputs.includes(name), `main.bicep has no output ${name}`);
    }
  });
});
