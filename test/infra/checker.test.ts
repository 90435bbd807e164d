/**
 * The Bicep checks of test/infra/ bite: each runs here on a small template
 * that breaks its rule, and must name the problem. (They pass on infra/ in
 * the other test files; a check that never fails would pass there too.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseBicep, type BicepFile } from './support/bicep.js';
import {
  appSettingProblems,
  deployedDefault,
  descriptionProblems,
  findAppSettings,
  guidCommentProblems,
  locationProblems,
  moduleProblems,
  roleAssignmentProblems,
  secretProblems,
  syntaxProblems,
  typeProblems,
  unusedDeclarations,
  type Templates,
} from './support/checks.js';
import { bicepTypes, type RoleRow } from './support/infra.js';

async function templatesOf(files: Record<string, string>): Promise<Map<string, BicepFile>> {
  return new Map(await Promise.all(Object.entries(files).map(async ([k, v]) => [k, await parseBicep(v, k)] as const)));
}

function expectProblems(problems: string[], ...patterns: RegExp[]) {
  for (const pattern of patterns) {
    assert.ok(problems.some((p) => pattern.test(p)), `expected a problem matching ${pattern}, got:\n${problems.join('\n')}`);
  }
}

describe('the Bicep checker', () => {
  test('reports what tree-sitter cannot parse', async () => {
    const file = await parseBicep("param a string = 'x'\nresource r 'A/b@1' = {\n  name: \n}\nvar = 1\n");
    expectProblems(syntaxProblems('x.bicep', file), /x\.bicep:\d+:\d+ /);
  });

  test('takes `extension <name>` out of the grammar\'s way, and only that form', async () => {
    const ok = await parseBicep('extension microsoftGraphV1\n\nparam a string\n');
    assert.deepEqual(ok.extensions, ['microsoftGraphV1']);
    assert.deepEqual(syntaxProblems('x.bicep', ok), []);
    const other = await parseBicep("extension 'br:example.azurecr.io/x:1.0'\n");
    assert.notDeepEqual(syntaxProblems('x.bicep', other), []);
  });

  test('finds resource bodies that do not fit their type', async () => {
    const file = await parseBicep(`
resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: 'st1234'
  location: location
  kind: 'StorageV2'
  properties: {
    allowSharedKeyaccess: false
    primaryEndpoints: {}
    accessTier: 'Warm'
    supportsHttpsTrafficOnly: 'yes'
    networkAcls: [
      'x'
    ]
  }
}
resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: 'kv-example'
  location: location
  properties: {
    sku: {
      family: 'A'
      name: enablePremium ? 'premium' : 'gold'
    }
  }
}
resource oldSite 'Microsoft.Web/sites@2019-08-01' = {
  name: 'x'
  location: location
}
resource settings 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: account
  name: 'appsetings'
}
resource secret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' existing = {
  parent: vault
  name: 'x'
  properties: {}
}
output blob string = account.properties.primaryEndpoints.blobs
output uri string = vault.properties.vaultURI
`);
    expectProblems(
      typeProblems('x.bicep', file, bicepTypes()),
      /account .*sku: required property is not set/,
      /allowSharedKeyaccess: no such property \(did you mean "allowSharedKeyAccess"\?\)/,
      /primaryEndpoints: property is read-only/,
      /accessTier: "Warm" is not one of 'Hot', 'Cool', 'Premium', 'Cold'/,
      /supportsHttpsTrafficOnly: the string "yes" where a boolean is expected/,
      /networkAcls: an array where an object/,
      /sku\.name: "gold" is not one of 'standard', 'premium'/,
      /vault .*tenantId: required property is not set/,
      /API version 2019-08-01 is not in the type index; it has .*2024-11-01/,
      /settings .*name: "appsetings" is not one of .*'appsettings'/,
      /settings .* needs a Microsoft\.Web\/sites parent, not Microsoft\.Storage\/storageAccounts/,
      /secret .*properties: an existing resource takes only/,
      /account\.properties\.primaryEndpoints\.blobs: .* has no property "blobs"/,
      /vault\.properties\.vaultURI: .*did you mean "vaultUri"/,
    );
  });

  test('finds module calls that do not match the module', async () => {
    const templates = await templatesOf({
      'main.bicep': `
module store 'modules/store.bicep' = {
  name: 'store'
  params: {
    nmae: 'x'
    tier: 'Gold'
  }
}
output url string = store.outputs.uri
module missing 'modules/none.bicep' = {
  name: 'none'
}
`,
      'modules/store.bicep': `
param name string
@allowed([
  'Hot'
  'Cool'
])
param tier string = 'Hot'
output url string = name
`,
    });
    expectProblems(
      moduleProblems('main.bicep', templates.get('main.bicep')!, templates),
      /modules\/store\.bicep has no parameter nmae/,
      /tier is not one of Hot, Cool/,
      /required parameter name is not passed/,
      /modules\/store\.bicep has no output uri/,
      /modules\/none\.bicep is not a template/,
    );
  });

  test('finds undescribed, mislabelled, unused and secret parameters, and outputs that leak', async () => {
    const file = await parseBicep(`
param noDescription string
@description('Optional. Has no default, so it is required.')
param mislabelled string
@description('Required. The client secret.')
param clientSecret string
@description('Required. A password.')
@secure()
param adminPassword string
@description('Optional. Never read.')
param unused string = 'x'
var greeting = 'hello \${adminPassword}'
output a string = greeting
output b string = '\${noDescription}\${mislabelled}\${clientSecret}'
output c object = account.listKeys()
`);
    expectProblems(
      descriptionProblems('x.bicep', file),
      /parameter noDescription has no @description/,
      /parameter mislabelled: @description should start with "Required\."/,
      /output a has no @description/,
    );
    expectProblems(
      secretProblems('x.bicep', file),
      /parameter clientSecret looks like a secret but is not @secure\(\)/,
      /output a reveals @secure\(\) adminPassword/,
      /output c calls a list\*\(\) function/,
    );
    expectProblems(unusedDeclarations('x.bicep', file), /unused is never used/);
  });

  test('finds hard-coded regions and untagged resources', async () => {
    const file = await parseBicep(`
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id'
  location: 'westeurope'
}
`);
    expectProblems(locationProblems('x.bicep', file), /identity has a hard-coded location/, /identity sets no tags/);
  });

  const roles: RoleRow[] = [
    {
      name: 'Storage Queue Data Message Sender',
      id: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a',
      files: ['modules/output.bicep'],
      scopes: ['Microsoft.Storage/storageAccounts/queueServices/queues'],
    },
  ];

  test('finds GUIDs named wrongly or not at all', async () => {
    const templates = await templatesOf({
      'modules/output.bicep': `
var roleIds = {
  // Storage Queue Data Contributor
  sender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  unknown: '11111111-2222-3333-4444-555555555555'
}
`,
    });
    expectProblems(
      guidCommentProblems(templates, roles),
      /c6a89b2d-.* is Storage Queue Data Message Sender, but its comment says "Storage Queue Data Contributor"/,
      /11111111-.* is not in infra\/roles\.md/,
    );
  });

  test('finds role assignments that are too broad, misplaced or misnamed', async () => {
    const body = (scope: string, name: string) => `{
  name: ${name}
  ${scope}
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.sender)
    principalId: principalId
  }
}`;
    const source = `
var roleIds = {
  // Storage Queue Data Message Sender
  sender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
}
resource account 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: 'x'
}
resource onAccount 'Microsoft.Authorization/roleAssignments@2022-04-01' = ${body('scope: account', 'guid(account.id, principalId, roleIds.sender)')}
resource onGroup 'Microsoft.Authorization/roleAssignments@2022-04-01' = ${body('', 'guid(resourceGroup().id, principalId, roleIds.sender)')}
resource misnamed 'Microsoft.Authorization/roleAssignments@2022-04-01' = ${body('scope: account', "guid(principalId, 'x')")}
`;
    const templates: Templates = await templatesOf({ 'modules/output.bicep': source, 'modules/other.bicep': source });
    expectProblems(
      roleAssignmentProblems(templates, roles),
      /output\.bicep:\d+ onAccount: Storage Queue Data Message Sender is scoped to Microsoft\.Storage\/storageAccounts/,
      /output\.bicep:\d+ onGroup: .* has no scope:/,
      /misnamed: name should be guid\(account\.id, principalId/,
      /principalType is not set/,
      /other\.bicep:\d+ onAccount: Storage Queue Data Message Sender may only be assigned in modules\/output\.bicep/,
    );
  });

  test('finds role assignments on a resource loop that do not take every element, or index what is not a loop', async () => {
    const assignment = (name: string, loop: string, scope: string) => `
resource ${name} 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for ${loop}: {
    name: guid(${scope}.id, principalId, roleIds.sender)
    scope: ${scope}
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.sender)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]`;
    const templates = await templatesOf({
      'modules/output.bicep': `
var roleIds = {
  // Storage Queue Data Message Sender
  sender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
}
resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = [
  for name in queueNames: {
    name: name
  }
]
resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  name: 'one'
}
${assignment('everyOne', 'i in range(0, length(queueNames))', 'queues[i]')}
${assignment('everyOneByPair', '(name, i) in queueNames', 'queues[i]')}
${assignment('firstTwo', 'i in range(0, 2)', 'queues[i]')}
${assignment('otherList', 'i in range(0, length(otherNames))', 'queues[i]')}
${assignment('notALoop', 'i in range(0, 1)', 'queue[i]')}
`,
    });
    const problems = roleAssignmentProblems(templates, roles);
    expectProblems(
      problems,
      /firstTwo: scoped to queues\[i\], it must loop over every one: \[for i in range\(0, length\(queueNames\)\)/,
      /otherList: scoped to queues\[i\], it must loop over every one/,
      /notALoop: scope queue\[i\] indexes queue, which is not a resource loop/,
    );
    assert.deepEqual(problems.filter((p) => /everyOne/.test(p)), []);
  });

  test('finds settings the code reads that are not deployed, and deployed ones nobody reads', async () => {
    const templates = await templatesOf({
      'main.bicep': `
module app 'modules/app.bicep' = {
  name: 'app'
  params: {
    folder: 'Inbox'
  }
}
`,
      'modules/app.bicep': `
@description('Optional. MAIL_FOLDER.')
param folder string = 'INBOX'
resource settings 'Microsoft.Web/sites/config@2024-11-01' = {
  name: 'appsettings'
  properties: {
    MAIL_FOLDER: folder
    LEGACY_SETTING: 'x'
    AzureWebJobsStorage__credential: 'managedidentity'
  }
}
`,
    });
    const settings = findAppSettings(templates)!;
    expectProblems(
      appSettingProblems(settings, ['MAIL_FOLDER', 'MAILBOX'], new Set(['AzureWebJobsStorage__credential'])),
      /MAILBOX is declared in shared\/config\/settingsSchema\.ts but not deployed/,
      /LEGACY_SETTING is deployed but neither declared in shared\/config\/settingsSchema\.ts nor a listed host setting/,
    );
    const folder = settings.properties.find((p) => p.key === 'MAIL_FOLDER')!;
    assert.equal(deployedDefault(folder.value, settings.file, templates), 'Inbox', 'main.bicep passes Inbox, overriding the module default');
  });
});
