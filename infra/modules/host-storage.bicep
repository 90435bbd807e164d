metadata name = 'Functions host storage'
metadata description = 'The storage account only the Functions host uses (AzureWebJobsStorage, blobs only, and the Flex Consumption deployment package), reached with the function identity: shared keys are disabled.'

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

@description('Required. Resource ID of the Log Analytics workspace that receives the blob service\'s write and delete logs.')
param workspaceResourceId string

@description('Optional. Whether the account answers on its public endpoint. Disabled with vnetEnabled: only the function app uses this account, through a private endpoint.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

// A timer-triggered app needs blobs only: the host keeps its locks and the timer's schedule
// monitor in containers it creates, and Flex Consumption reads the deployment package from
// one. Queues and tables (Storage Queue Data Contributor, Storage Table Data Contributor) are
// for blob triggers, Durable Functions and the like, which this app has none of; a queue
// trigger reads its own queue through its own connection, so its roles belong on that queue,
// not here. This account holds nothing else, which is why the account is the scope.
var roleIds = {
  // Storage Blob Data Owner
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
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
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
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

// Host storage holds no mail: writes and deletes are logged (who changed the deployment
// package or the host's locks); reads are the host's own lease polling, several a minute.
resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: workspaceResourceId
    logs: [
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

@description('Name of the account.')
output name string = account.name

@description('Resource ID of the account, the target of its private endpoint.')
output resourceId string = account.id

@description('Blob service endpoint (AzureWebJobsStorage__blobServiceUri).')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('URL of the deployment package container (functionAppConfig.deployment.storage.value).')
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deploymentContainer.name}'
