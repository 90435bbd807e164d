metadata name = 'Functions host storage'
metadata description = 'The storage account only the Functions host uses (AzureWebJobsStorage and the Flex Consumption deployment package), reached with the function identity: shared keys are disabled.'

@description('Required. Name of the storage account (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Azure region of the account.')
param location string

@description('Optional. Tags applied to the account.')
param tags object = {}

@description('Optional. Redundancy of the account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Required. Blob container Flex Consumption deploys the app package to.')
@minLength(3)
@maxLength(63)
param deploymentContainerName string

@description('Required. Principal (object) ID of the function identity.')
param principalId string

// The host creates its own containers (locks, timer schedule monitors), writes diagnostic
// events to tables and may use queues; these are the roles the Functions documentation
// lists for identity-based AzureWebJobsStorage. This account holds nothing else, which is
// why the account is their scope: the mail output lives in another account.
var roleIds = {
  // Storage Blob Data Owner
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // Storage Queue Data Contributor
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // Storage Table Data Contributor
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, roleIds.blobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.blobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'mail-drain: Functions host storage (blobs) and the deployment package'
  }
}

resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, roleIds.queueDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.queueDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'mail-drain: Functions host storage (queues)'
  }
}

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, roleIds.tableDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.tableDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'mail-drain: Functions host storage (tables)'
  }
}

@description('Name of the account.')
output name string = account.name

@description('Blob service endpoint (AzureWebJobsStorage__blobServiceUri).')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('Queue service endpoint (AzureWebJobsStorage__queueServiceUri).')
output queueEndpoint string = account.properties.primaryEndpoints.queue

@description('Table service endpoint (AzureWebJobsStorage__tableServiceUri).')
output tableEndpoint string = account.properties.primaryEndpoints.table

@description('URL of the deployment package container (functionAppConfig.deployment.storage.value).')
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deploymentContainer.name}'
