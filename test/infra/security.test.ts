/**
 * The settings that make the deployment what the issue asks for: a Flex
 * Consumption Linux app on Node 22 running as one user-assigned identity,
 * key-less storage, a vault with RBAC, soft delete and purge protection,
 * telemetry without local auth, the queues and the claim-check lifecycle, the
 * roles on each queue and container, and the outputs the next steps need. Each
 * is read from the templates' literals.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { literalAt, propertyAt, type ResourceDecl } from './support/bicep.js';
import { moduleParams, resolveString } from './support/checks.js';
import { loadTemplates, readRoleTable } from './support/infra.js';

const templates = await loadTemplates();

/**
 * The queue actions of Azure's built-in queue roles (Actions and DataActions,
 * under Microsoft.Storage/storageAccounts/queueServices/), as
 * learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage lists them.
 */
const QUEUE_ROLE_ACTIONS: Record<string, string[]> = {
  'Storage Queue Data Reader': ['queues/read', 'queues/messages/read'],
  'Storage Queue Data Message Processor': ['queues/messages/read', 'queues/messages/process/action'],
  'Storage Queue Data Message Sender': ['queues/messages/add/action'],
  'Storage Queue Data Contributor': ['queues/read', 'queues/write', 'queues/delete', 'queues/messages/read', 'queues/messages/write', 'queues/messages/delete', 'queues/messages/process/action'],
};

/**
 * The Queue service calls made on the drain requests' queue, each with the
 * actions that authorize it (any one set of them), as "Authorize with Microsoft
 * Entra ID" in the Storage REST reference gives them.
 */
const DRAIN_REQUEST_CALLS: { call: string; anyOf: string[][] }[] = [
  { call: 'Put Message (the timer, and a drain asking for a follow-up)', anyOf: [['queues/messages/add/action'], ['queues/messages/write']] },
  { call: 'Get Messages (the queue trigger takes a request)', anyOf: [['queues/messages/process/action'], ['queues/messages/delete', 'queues/messages/read']] },
  { call: 'Delete Message (a drain done, or moved to -poison)', anyOf: [['queues/messages/process/action'], ['queues/messages/delete']] },
  { call: 'Update Message (the host renews a running drain\'s request every 5 minutes, and releases a failed one for visibilityTimeout)', anyOf: [['queues/messages/write']] },
  { call: 'Get Queue Metadata (the listener checks the queue exists; scaling reads its length)', anyOf: [['queues/read']] },
];

/** The calls that `roles` together do not authorize. */
function missingQueueCalls(roles: string[]): string[] {
  const actions = new Set(roles.flatMap((r) => QUEUE_ROLE_ACTIONS[r] ?? []));
  return DRAIN_REQUEST_CALLS.filter((c) => !c.anyOf.some((set) => set.every((a) => actions.has(a)))).map((c) => c.call);
}
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

  test("the output queues (the deployment-wide one and each mailbox's own), their -poison queues, the drain requests' queue and its -poison queue, the claim-check containers, with a lifecycle delete rule from a parameter", () => {
    const file = templates.get('modules/output-storage.bicep')!;
    const queues = file.resources.filter((r) => r.type === 'Microsoft.Storage/storageAccounts/queueServices/queues');
    const names = queues.map((q) => `${q.loopOver ? `for ${q.loopOver.item} in ${q.loopOver.source.text}: ` : ''}${propertyAt(q.body, 'name')!.node.text}`);
    assert.deepEqual(names.sort(), ["'${drainRequestsQueueName}-poison'", 'drainRequestsQueueName', "for queue in queueNames: '${queue}-poison'", 'for queue in queueNames: queue'].sort());
    const containers = file.resources.filter((r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers');
    assert.deepEqual(containers.map((c) => `for ${c.loopOver?.item} in ${c.loopOver?.source.text}: ${propertyAt(c.body, 'name')?.node.text}`), ['for container in containerNames: container']);
    // Each name once: union keeps one of each, so a mailbox may name the deployment-wide queue too.
    const list = (name: string) => file.vars.find((v) => v.name === name)?.value.node.text;
    assert.equal(list('queueNames'), 'union([queueName], mailboxQueueNames)');
    assert.equal(list('containerNames'), 'union([containerName], mailboxContainerNames)');

    // main.bicep passes every outputQueue and outputContainer that a mailboxes entry names.
    const main = templates.get('main.bicep')!;
    const passed = moduleParams(main.modules.find((m) => m.path === 'modules/output-storage.bicep')!);
    for (const [param, key] of [['mailboxQueueNames', 'outputQueue'], ['mailboxContainerNames', 'outputContainer']] as const) {
      const value = passed.find((p) => p.key === param)?.value.node.text;
      assert.equal(main.vars.find((v) => v.name === value)?.value.node.text, `map(filter(mailboxEntries, e => contains(e, '${key}')), e => e.${key})`, param);
    }

    const policy = one('Microsoft.Storage/storageAccounts/managementPolicies');
    const rules = propertyAt(policy.body, 'properties.policy.rules');
    assert.equal(rules?.kind, 'loop', 'one rule per container');
    const rule = rules?.kind === 'loop' ? rules.body : undefined;
    assert.equal(literalAt(rule, 'enabled'), true);
    const days = propertyAt(rule, 'definition.actions.baseBlob.delete.daysAfterModificationGreaterThan');
    assert.equal(days?.node.text, 'retentionDays', 'the retention comes from a parameter');
    // Which blobs it may delete (messages/ only, never locks/ or quarantine/): lifecycle.test.ts.
  });

  test("each queue and container of the output account gets the roles its use needs, a mailbox's own as the deployment-wide one", () => {
    const file = templates.get('modules/output-storage.bicep')!;
    const roleNames = new Map(readRoleTable().roles.map((r) => [r.id, r.name]));
    const granted = new Map<string, string[]>();
    for (const assignment of file.resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')) {
      // queues[i] is every queue of the loop: roles.test.ts holds the assignment to loop over them all.
      const scope = propertyAt(assignment.body, 'scope')?.node.text.replace(/\[\w+\]$/, '') ?? '';
      const role = roleNames.get(resolveString(propertyAt(assignment.body, 'properties.roleDefinitionId')!.node, file)?.toLowerCase() ?? '');
      const principal = propertyAt(assignment.body, 'properties.principalId')?.node.text;
      const key = principal === 'principalId' ? scope : `${scope} (${principal})`;
      granted.set(key, [...(granted.get(key) ?? []), role ?? '?']);
    }
    assert.deepEqual(Object.fromEntries(granted), {
      queues: ['Storage Queue Data Message Sender'],
      poisonQueues: ['Storage Queue Data Message Sender'],
      containers: ['Storage Blob Data Contributor'],
      drainRequests: ['Storage Queue Data Contributor'],
      drainRequestsPoison: ['Storage Queue Data Message Sender'],
      // Opt-in: the consumer takes mail and reads its blobs; its host may move what it keeps failing on to the poison queue.
      'queues (consumerPrincipalId)': ['Storage Queue Data Message Processor'],
      'poisonQueues (consumerPrincipalId)': ['Storage Queue Data Message Sender'],
      'containers (consumerPrincipalId)': ['Storage Blob Data Reader'],
    });
  });

  test('the consumer roles exist only when consumerPrincipalId is given, and main.bicep passes it through', () => {
    const file = templates.get('modules/output-storage.bicep')!;
    const consumer = file.resources.filter(
      (r) => r.type === 'Microsoft.Authorization/roleAssignments' && propertyAt(r.body, 'properties.principalId')?.node.text === 'consumerPrincipalId',
    );
    assert.equal(consumer.length, 3);
    for (const assignment of consumer) {
      assert.equal(assignment.condition?.text, '(grantConsumer)', `${assignment.name} is not conditional on grantConsumer`);
      assert.equal(propertyAt(assignment.body, 'properties.principalType')?.node.text, 'consumerPrincipalType');
    }
    assert.match(file.source, /var grantConsumer = !empty\(consumerPrincipalId\)/);
    const main = templates.get('main.bicep')!;
    const passed = main.modules.find((m) => m.path === 'modules/output-storage.bicep');
    assert.ok(passed);
    const params = moduleParams(passed).map((p) => `${p.key}: ${p.value?.node.text}`);
    assert.ok(params.includes('consumerPrincipalId: consumerPrincipalId') && params.includes('consumerPrincipalType: consumerPrincipalType'), params.join('\n'));
  });

  test("the roles on the drain requests' queue allow every call the timer and the host's queue trigger make on it; the roles Microsoft lists for a queue trigger do not", () => {
    const file = templates.get('modules/output-storage.bicep')!;
    const roleNames = new Map(readRoleTable().roles.map((r) => [r.id, r.name]));
    const onDrainRequests = file.resources
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments' && propertyAt(r.body, 'scope')?.node.text === 'drainRequests')
      .map((r) => roleNames.get(resolveString(propertyAt(r.body, 'properties.roleDefinitionId')!.node, file)?.toLowerCase() ?? '')!);
    assert.deepEqual(missingQueueCalls(onDrainRequests), []);
    // Reader and Message Processor (the trigger's roles in Microsoft's Functions docs) plus Sender
    // cannot update a message: the host's visibility renewal would be refused.
    assert.deepEqual(missingQueueCalls(['Storage Queue Data Reader', 'Storage Queue Data Message Processor', 'Storage Queue Data Message Sender']).map((c) => c.split(' (')[0]), ['Update Message']);
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
